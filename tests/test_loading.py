"""core.loading: what people actually upload, good and bad."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest

from core.errors import DataLoadError
from core.load_options import LoadOptions
from core.loading import load_file, sniff


def load(text: str | bytes, name: str = "file.csv", **options):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return load_file(data, name, LoadOptions(**options) if options else None)


@pytest.mark.parametrize(
    ("delimiter", "name"),
    [(",", "comma"), (";", "semicolon"), ("\t", "tab"), ("|", "pipe")],
)
def test_detects_each_delimiter(delimiter, name):
    rows = [["city", "temp", "rain"], ["Oslo", "3", "yes"], ["Rome", "18", "no"], ["Lima", "20", "no"]]
    ds = load("\n".join(delimiter.join(r) for r in rows) + "\n")
    assert ds.report.delimiter == delimiter
    assert ds.report.delimiter_name == name
    assert list(ds.frame.columns) == ["city", "temp", "rain"]
    assert ds.frame["temp"].tolist() == [3, 18, 20]


def test_utf8_bom_is_not_part_of_first_column_name():
    ds = load("\ufeffid,value\n1,2\n".encode())
    assert ds.report.encoding == "utf-8-sig"
    assert list(ds.frame.columns) == ["id", "value"]


def test_windows_1252_text_is_decoded():
    ds = load("name,city\nJosé,Málaga\nFrançois,Orléans\n".encode("cp1252"))
    assert ds.report.encoding == "cp1252"
    assert ds.frame["name"].tolist() == ["José", "François"]


def test_utf16_with_bom_is_decoded():
    ds = load("a,b\n1,é\n".encode("utf-16"))
    assert ds.frame["b"].tolist() == ["é"]


def test_decimal_comma_and_thousands_dot():
    ds = load("item;price;qty\nA;1.234,5;3\nB;12,75;4\nC;3,0;5\n")
    assert ds.report.decimal == ","
    assert ds.frame["price"].tolist() == [1234.5, 12.75, 3.0]
    assert pd.api.types.is_float_dtype(ds.frame["price"].dtype)


def test_quoted_thousands_commas_are_numbers():
    ds = load('amount,label\n"1,234.5",x\n"12,000",y\n"7",z\n')
    assert ds.frame["amount"].tolist() == [1234.5, 12000.0, 7.0]


@pytest.mark.parametrize("token", ["NA", "N/A", "?", "-", "null", ""])
def test_missing_tokens_become_missing(token):
    ds = load(f"x,y\n1,a\n{token},b\n3,c\n")
    assert ds.frame["x"].isna().tolist() == [False, True, False]
    assert pd.api.types.is_numeric_dtype(ds.frame["x"].dtype)


def test_quoted_fields_with_newlines_stay_in_one_cell():
    ds = load('id,comment\n1,"first line\nsecond line"\n2,"plain"\n')
    assert len(ds.frame) == 2
    assert ds.frame["comment"].iloc[0] == "first line\nsecond line"


def test_duplicate_and_empty_column_names_are_renamed_with_a_notice():
    ds = load("a,a,,b\n1,2,3,4\n")
    assert list(ds.frame.columns) == ["a", "a_2", "column_3", "b"]
    assert ds.report.renamed_columns["a"] == "a_2"
    assert any("Renamed" in n for n in ds.report.notices)


def test_ragged_rows_are_reported_and_kept():
    ds = load("a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n")
    assert len(ds.frame) == 4, "no row may be dropped"
    assert ds.report.ragged_count == 2
    assert ds.report.ragged_rows == [3, 4]
    assert "extra_1" in ds.frame.columns and ds.frame["extra_1"].iloc[2] == 9
    assert np.isnan(ds.frame["c"].iloc[1])
    assert any("do not have 3 fields" in n for n in ds.report.notices)


def test_iso_and_us_dates_become_datetimes():
    ds = load("d,e,v\n2024-01-05,03/15/2024,1\n2024-02-06,04/16/2024,2\n")
    assert pd.api.types.is_datetime64_any_dtype(ds.frame["d"].dtype)
    assert pd.api.types.is_datetime64_any_dtype(ds.frame["e"].dtype)
    assert ds.frame["e"].iloc[0] == pd.Timestamp("2024-03-15")


def test_header_override_reads_first_row_as_data():
    ds = load("1,2\n3,4\n", header=False)
    assert list(ds.frame.columns) == ["column_1", "column_2"]
    assert len(ds.frame) == 2


def test_all_numeric_first_row_is_detected_as_data():
    assert sniff(b"1,2\n3,4\n5,6\n").header is False


def test_delimiter_override_wins():
    ds = load("a;b,c\n1;2,3\n", delimiter=",")
    assert list(ds.frame.columns) == ["a;b", "c"]


def test_hostile_column_names_are_kept_literally():
    ds = load("<script>alert(1)</script>,**bold**,=cmd()\n1,2,3\n")
    assert list(ds.frame.columns) == ["<script>alert(1)</script>", "**bold**", "=cmd()"]


def test_a_200k_character_cell_is_read():
    big = "x" * 200_000
    ds = load(f"id,text\n1,{big}\n2,short\n")
    assert len(ds.frame["text"].iloc[0]) == 200_000


def test_600_columns_are_read():
    header = ",".join(f"c{i}" for i in range(600))
    row = ",".join(str(i) for i in range(600))
    ds = load(f"{header}\n{row}\n{row}\n")
    assert ds.n_cols == 600


def test_one_column_file_loads_with_a_hint():
    ds = load("value\n1\n2\n3\n")
    assert ds.n_cols == 1
    assert any("Only one column" in n for n in ds.report.notices)


# --------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "is empty"),
        (b"   \n\n", "is empty"),
        (b"a,b,c\n", "no data rows"),
        (bytes(range(256)) * 40, "does not look like text"),
        (b"\x89PNG\r\n\x1a\n" + bytes(2000), "does not look like text"),
    ],
    ids=["empty", "blank", "header-only", "binary", "png-renamed"],
)
def test_bad_files_get_a_clear_message(data, expected):
    with pytest.raises(DataLoadError) as info:
        load_file(data, "upload.csv")
    assert expected in info.value.user_message


def test_file_over_the_size_limit_is_refused_before_parsing():
    with pytest.raises(DataLoadError, match="over the 1 MB limit"):
        load_file(b"a,b\n" + b"1,2\n" * 400_000, "big.csv", max_bytes=1_000_000)


def test_unknown_encoding_override_is_refused():
    with pytest.raises(DataLoadError, match="not an encoding this app knows"):
        load("a,b\n1,2\n", encoding="klingon-8")


def test_wrong_encoding_override_says_which_byte():
    with pytest.raises(DataLoadError, match="not valid utf-8"):
        load_file("a\né\n".encode("cp1252"), "x.csv", LoadOptions(encoding="utf-8"))


def test_excel_named_file_that_is_not_a_workbook_is_refused():
    with pytest.raises(DataLoadError, match="not one"):
        load_file(b"a,b\n1,2\n", "sheet.xlsx")


def test_corrupt_zip_named_csv_is_refused():
    with pytest.raises(DataLoadError):
        load_file(b"PK\x03\x04" + bytes(100), "data.csv")


# --------------------------------------------------------------------- excel


def _workbook(sheets: dict[str, pd.DataFrame]) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    return buffer.getvalue()


def test_excel_with_several_sheets_lists_them_and_reads_the_chosen_one():
    data = _workbook({"sales": pd.DataFrame({"a": [1, 2]}), "costs": pd.DataFrame({"b": ["x", "y"], "c": [1.5, None]})})
    first = load_file(data, "book.xlsx")
    assert first.report.sheets == ["sales", "costs"]
    assert first.report.sheet == "sales"
    assert any("2 sheets" in n for n in first.report.notices)
    second = load_file(data, "book.xlsx", LoadOptions(sheet="costs"))
    assert list(second.frame.columns) == ["b", "c"]
    assert second.frame["c"].isna().tolist() == [False, True]


def test_excel_is_detected_by_content_even_when_named_csv():
    data = _workbook({"only": pd.DataFrame({"a": [1, 2], "b": ["u", "v"]})})
    assert zipfile.is_zipfile(io.BytesIO(data))
    ds = load_file(data, "renamed.csv")
    assert ds.report.file_kind == "excel"
    assert ds.frame["b"].tolist() == ["u", "v"]


def test_extra_fields_beyond_the_scanned_part_are_still_found_and_kept():
    from core.loading import text

    body = "".join(f"{i},{i * 2},x\n" for i in range(600_000))  # > 8 MB: only the start is scanned
    data = ("a,b,c\n" + body + "1,2,3,4\n").encode()
    assert len(data) > text._FULL_SCAN_BYTES
    ds = load(data)
    assert len(ds.frame) == 600_001
    assert ds.frame["extra_1"].iloc[-1] == 4
    assert ds.report.ragged_count == 1 and ds.report.ragged_checked_all


# --------------------------------------------------------------------------- dates and months


def column_of(values: list[str]) -> pd.Series:
    """``values`` as a CSV column 'when' (next to a numeric one), read by load_file."""
    text = "when,v\n" + "".join(f'"{value}",{i}\n' for i, value in enumerate(values))
    return load(text).frame["when"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["2018-03", "2018-04", "2019-12"], ["2018-03-01", "2018-04-01", "2019-12-01"]),
        (["Mar-2018", "Apr-2018", "Dec-2019"], ["2018-03-01", "2018-04-01", "2019-12-01"]),
        (["March 2018", "April 2018", "december 2019"], ["2018-03-01", "2018-04-01", "2019-12-01"]),
        (["Mar 2018", "Sept 2018", "Dec. 2019"], ["2018-03-01", "2018-09-01", "2019-12-01"]),
        (["03/2018", "4/2018", "12/2019"], ["2018-03-01", "2018-04-01", "2019-12-01"]),
        (["2018-03-01 10:00", "2018-03-02 11:30", "2018-03-03 09:15"], ["2018-03-01 10:00", "2018-03-02 11:30", "2018-03-03 09:15"]),
        (["2018-03-01T10:00:00", "2018-03-02T11:30:00", "2018-03-03T09:15:00"], ["2018-03-01 10:00", "2018-03-02 11:30", "2018-03-03 09:15"]),
        (["2018-03-01", "2018-03-02", "2018-03-03"], ["2018-03-01", "2018-03-02", "2018-03-03"]),
        (["03/15/2018", "04/16/2018", "12/01/2019"], ["2018-03-15", "2018-04-16", "2019-12-01"]),
        (["March 5, 2018", "April 16, 2018", "Dec 1, 2019"], ["2018-03-05", "2018-04-16", "2019-12-01"]),
        (["05-Mar-2018", "16-Apr-2018", "01-Dec-2019"], ["2018-03-05", "2018-04-16", "2019-12-01"]),
    ],
    ids=["yyyy-mm", "Mon-yyyy", "Month yyyy", "Mon. yyyy", "mm/yyyy", "date hh:mm", "iso T", "iso", "us", "Month d, yyyy", "dd-Mon-yyyy"],
)  # fmt: skip
def test_date_and_month_formats_become_datetimes(values, expected):
    when = column_of(values)
    assert pd.api.types.is_datetime64_any_dtype(when.dtype), when.tolist()
    assert when.tolist() == [pd.Timestamp(e) for e in expected]


def test_mixed_date_and_month_formats_in_one_column_are_read_and_months_start_on_the_first():
    when = column_of(["2018-03", "Apr-2018", "May 2018", "06/2018", "2018-07-15", "August 3, 2018"])
    assert when.tolist() == [
        pd.Timestamp(d) for d in ("2018-03-01", "2018-04-01", "2018-05-01", "2018-06-01", "2018-07-15", "2018-08-03")
    ]


def test_a_month_column_is_reported_as_dates_with_a_datetime_role():
    from core.schema import Role, infer_roles

    ds = load("month,sales\nMar-2018,1\nApr-2018,2\nMay-2018,3\nJun-2018,4\n")
    assert ds.report.parsed_dates == ["month"]
    guess = infer_roles(ds.frame)["month"]
    assert guess.role == Role.DATETIME
    assert "month" in guess.reason


@pytest.mark.parametrize(
    "values",
    [
        ["1.2.3", "2.10.1", "10.0.19041"],  # version strings
        ["1.2.3", "1.2.4", "1.3.0"],
        ["M-00001", "M-00002", "M-00003"],  # ID codes
        ["AB-2018", "CD-2019", "EF-2020"],
        ["INV-2018-03", "INV-2018-04", "INV-2019-01"],
        ["10-20", "20-30", "30-40"],  # ranges
        ["1990-2000", "2000-2010", "2010-2020"],
        ["2009-10", "2010-11", "2011-12"],  # seasons, not months
        ["2018-13", "2018-14", "2018-15"],  # no 13th month
        ["12/45", "3/4", "7/8"],  # fractions / scores
        ["0001-01", "0002-01", "0003-01"],  # not plausible years
        ["Mar", "Apr", "May"],  # month names alone are categories
        ["may be", "march on", "June bug"],
        ["3 weeks", "2 days", "10 years"],
        ["v2018", "v2019", "v2020"],
    ],
)
def test_look_alikes_stay_text(values):
    when = column_of(values)
    assert pd.api.types.is_string_dtype(when.dtype), when.tolist()
    assert when.tolist() == values


def test_a_few_values_that_are_not_dates_become_missing_and_are_named():
    values = [f"2018-{m:02d}-01" for m in range(1, 13)] * 3 + ["unknown"]
    ds = load("when,v\n" + "".join(f"{v},{i}\n" for i, v in enumerate(values)))
    assert pd.api.types.is_datetime64_any_dtype(ds.frame["when"].dtype)
    assert ds.frame["when"].isna().sum() == 1
    assert any("'when'" in n and "'unknown'" in n for n in ds.report.notices)


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer", "diabetes", "digits", "linnerud"])
def test_scikit_learn_bundled_datasets_have_no_false_dates(name):
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, f"load_{name}")(as_frame=True)
    frame = bunch.frame.copy()
    ds = load(frame.to_csv(index=False))
    assert ds.report.parsed_dates == []
    assert not any(pd.api.types.is_datetime64_any_dtype(t) for t in ds.frame.dtypes)


def test_bundled_samples_date_only_their_date_columns():
    from core.samples import list_samples, load_sample

    dated = {s.key: load_sample(s.key).report.parsed_dates for s in list_samples()}
    assert {k: v for k, v in dated.items() if v} == {"house_prices": ["listing_date"], "electricity_demand": ["date"]}


def test_day_first_dates_are_read_day_first_throughout_a_mixed_column():
    when = column_of(["2018-06-10 10:00", "17/06/2018", "10/06/2018", "05/07/2018"])
    assert when.tolist() == [pd.Timestamp(d) for d in ("2018-06-10 10:00", "2018-06-17", "2018-06-10", "2018-07-05")]
    us = column_of(["2018-06-10 10:00", "06/17/2018", "06/10/2018", "07/05/2018"])
    assert us.tolist() == [pd.Timestamp(d) for d in ("2018-06-10 10:00", "2018-06-17", "2018-06-10", "2018-07-05")]


# --------------------------------------------------------------------- cells that hold nothing


def test_cells_of_only_spaces_are_missing_and_the_report_counts_them():
    ds = load("x,label\n1,yes\n2, \n3,no\n4,   \n5,yes\n6,\t\n")
    assert ds.frame["label"].isna().sum() == 3
    assert sorted(ds.frame["label"].dropna().unique()) == ["no", "yes"]
    assert ds.report.blank_cells == {"label": 3}
    assert any("3 cells" in n and "only spaces" in n and "'label'" in n for n in ds.report.notices)


def test_a_number_column_with_blank_cells_is_read_as_numbers():
    ds = load("x,y\n1.5,a\n  ,b\n3.25,c\n 4 ,d\n")
    assert pd.api.types.is_float_dtype(ds.frame["x"].dtype)
    assert ds.frame["x"].isna().sum() == 1
    assert ds.frame["x"].dropna().tolist() == [1.5, 3.25, 4.0]


def test_missing_value_markers_are_counted_in_the_report():
    ds = load("qty,name\n1,a\nN/A,b\n?,c\n4,d\n")
    assert ds.frame["qty"].tolist()[:1] == [1] and ds.frame["qty"].isna().sum() == 2
    assert ds.report.marker_cells == {"qty": 2}
    assert any("2 cells" in n and "'qty'" in n for n in ds.report.notices)


def test_excel_cells_of_only_spaces_are_missing():
    frame = pd.DataFrame({"x": [1, 2, 3, 4], "label": ["yes", " ", "no", "  "]})
    ds = load_file(_workbook({"data": frame}), "book.xlsx")
    assert ds.frame["label"].isna().sum() == 2
    assert ds.report.blank_cells == {"label": 2}


def test_two_thousand_numeric_columns_load():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(20, 2_000)).round(2), columns=[f"x{i}" for i in range(2_000)])
    ds = load(frame.to_csv(index=False))
    assert ds.frame.shape == (20, 2_000)
    assert all(pd.api.types.is_float_dtype(t) for t in ds.frame.dtypes)


def test_the_persons_own_missing_markers_make_a_number_column():
    text = "price,name\n1.5,a\nunknown,b\n2.5,c\ntbd,d\n"
    assert pd.api.types.is_string_dtype(load(text).frame["price"].dtype)
    ds = load(text, missing=("unknown", "tbd"))
    assert ds.frame["price"].dropna().tolist() == [1.5, 2.5]
    assert ds.report.marker_cells == {"price": 2}
    assert any("'unknown'" in n and "2 cells" in n for n in ds.report.notices)
    excel = load_file(
        _workbook({"s": pd.DataFrame({"price": [1.5, "unknown", 2.5]})}), "b.xlsx", LoadOptions(missing=("unknown",))
    )
    assert excel.frame["price"].dropna().tolist() == [1.5, 2.5]


def test_dates_that_read_both_ways_are_read_month_first_said_so_and_can_be_read_day_first():
    """polars used to pick day or month first by itself, without a word."""
    rows = "".join(f"0{m}/0{d}/2020,{m}\n" for m in range(1, 9) for d in range(1, 9))
    data = ("when,x\n11/10/2018,1\n" + rows).encode()
    ds = load_file(data, "dates.csv")
    assert ds.frame["when"].iloc[0] == pd.Timestamp("2018-11-10")
    assert any("reads both as month/day and as day/month" in n for n in ds.report.notices)
    day_first = load_file(data, "dates.csv", LoadOptions(day_first=True))
    assert day_first.frame["when"].iloc[0] == pd.Timestamp("2018-10-11")
    assert not any("reads both" in n for n in day_first.report.notices)
    clear = load_file(b"when,x\n17/10/2018,1\n03/04/2018,2\n" + rows.replace("2020", "2021").encode(), "d.csv")
    assert clear.frame["when"].iloc[1] == pd.Timestamp("2018-04-03"), "a day above 12 settles it: day first"


def test_dates_written_in_the_first_values_format_and_written_otherwise_are_read_alike():
    """Dates in the first value's format are read in bulk; a value written otherwise gets the same rules as before."""
    padded = [f"{d:02d}/{m:02d}/2018 {h:02d}:30" for d in (13, 28) for m in range(1, 13) for h in (0, 9, 23)]
    odd = {
        "3/4/2018 10:30": pd.Timestamp("2018-04-03 10:30"),  # not zero-padded
        "03/04/2018  10:30": pd.Timestamp("2018-04-03 10:30"),  # two spaces
        "31/02/2018 10:00": pd.NaT,  # no such day
        "30/06/2015 23:59:60": pd.NaT,  # a leap second
        "01/01/0000 00:00": pd.NaT,  # year 0
    }
    when = column_of(["17/06/2018 10:30", *padded, *odd])
    assert when.iloc[0] == pd.Timestamp("2018-06-17 10:30")
    assert when.iloc[1 : 1 + len(padded)].tolist() == [pd.Timestamp(f"2018-{v[3:5]}-{v[:2]} {v[11:]}") for v in padded]
    read = dict(zip(odd, when.iloc[1 + len(padded) :], strict=True))
    assert {k: (None if pd.isna(v) else v) for k, v in read.items()} == {
        k: (None if pd.isna(v) else v) for k, v in odd.items()
    }
