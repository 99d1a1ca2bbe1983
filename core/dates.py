"""Text that is a date: which values are dates or months, and their datetimes.

Used when a file is loaded (:mod:`core.loading` types a text column as dates
when almost all its values are). Written to be strict: numbers, version
strings, ID codes and ranges stay text, because a column wrongly read as dates
becomes "time" to the models and the split.

A million values are read without a Python object each: the patterns are tested once per
distinct shape of the values (digits written '0'), and values written in the first value's
numeric format are parsed by polars, checked value by value against that format (see
:func:`_with_format`); what is left keeps pandas' per-value rules, so the results are the same.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.tseries.api import guess_datetime_format

#: A text column is read as dates when at least this share of its values are dates (the rest become missing).
DATE_SHARE = 0.95
#: Years a full date (day, month, year) may have to be read as a date.
DATE_YEARS = (1000, 2999)
#: Years a month without a day ('2018-03', '03/2018') may have: narrower, because two
#: numbers joined by '-' or '/' are often codes or ranges.
MONTH_YEARS = (1800, 2200)

_MONTH_NAME = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_WEEKDAY = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
_TIME = (
    r"(?:(?:[ T]|\s+)\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:\s*[ap]\.?m\.?)?"
    r"(?:\s*(?:z|utc|gmt|[+-]\d{2}(?::?\d{2})?))?)?"
)
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
#: Values with a day, month and year (and maybe a time), written in the usual ways.
_FULL_DATE = re.compile(
    _WEEKDAY
    + r"(?:"
    + r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"  # 2018-03-01, 2018/3/1
    + r"|\d{1,2}[-/]\d{1,2}[-/](?:\d{4}|\d{2})"  # 03/15/2018, 15-03-18
    + r"|\d{1,2}\.\d{1,2}\.\d{4}"  # 01.03.2018 (a four-digit year: '1.2.3' is a version)
    + rf"|{_MONTH_NAME}\s+{_DAY},?\s+\d{{4}}"  # March 5, 2018
    + rf"|{_DAY}[\s-]{_MONTH_NAME},?[\s-](?:\d{{4}}|\d{{2}})"  # 5 March 2018, 05-Mar-18
    + r")"
    + _TIME,
    re.IGNORECASE,
)
#: Day and month as numbers before the year: which comes first is decided per column.
_NUMERIC_DATE = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.]\d{2,4}\b")
#: The most of a value :data:`_NUMERIC_DATE` can look at: '10/06/2018' and the character after it (for ``\b``).
_NUMERIC_SPAN = 11
#: Each byte to itself, except the digits 1–9 to '0' (see :func:`_digit_shapes`).
_ZERO_DIGITS = np.arange(256, dtype=np.uint8)
_ZERO_DIGITS[ord("1") : ord("9") + 1] = ord("0")
#: Values looked at to decide whether a column repeats its dates (then each distinct one is parsed once).
_DISTINCT_PROBE = 10_000
#: Formats made only of fields written with a fixed number of digits (and other characters): polars reads
#: these (see :func:`_with_format`); month names, fractions, 2-digit years, time zones and AM/PM go to pandas.
_DIGIT_FORMAT = re.compile(r"(?:%[YmdHMS]|[^%])+")
#: Values that name a month but no day; each becomes the first of its month.
_MONTH_ONLY = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"(?P<year>\d{4})[-/](?P<month>\d{1,2})",  # 2018-03, 2018/3
        r"(?P<month>\d{1,2})[-/](?P<year>\d{4})",  # 03/2018, 3-2018
        rf"(?P<name>{_MONTH_NAME})[-\s/]\s*(?P<year>\d{{4}})",  # Mar-2018, March 2018
        rf"(?P<year>\d{{4}})[-\s/](?P<name>{_MONTH_NAME})",  # 2018-Mar
    )
)
_ANY_MONTH_ONLY = re.compile("|".join(f"(?:{re.sub(r'[?]P<[a-z]+>', '', p.pattern)})" for p in _MONTH_ONLY), re.I)
_MONTH_NUMBER = {
    name: i + 1
    for i, name in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])
}


def looks_like_date(value: str) -> bool:
    """Whether one text value is written like a date or a month (see :func:`parse_dates`)."""
    text = value.strip()
    return bool(_FULL_DATE.fullmatch(text)) or any(p.fullmatch(text) for p in _MONTH_ONLY)


def parse_dates(values: pd.Series, day_first: bool | None = None) -> pd.Series:
    """Text written as dates or months → datetimes; anything else → NaT.

    Recognised: ISO dates with or without a time (``2018-03-01 10:00``), US and
    day-first numeric dates (``03/15/2018``, ``01.03.2018``), month names
    (``March 5, 2018``, ``05-Mar-2018``) and months without a day (``2018-03``,
    ``Mar-2018``, ``March 2018``, ``03/2018``), which become the first of that
    month. Numbers, version strings (``1.2.3``), codes (``M-00001``), ranges
    (``10-20``, seasons like ``2009-10``) and implausible years are not dates.

    Numeric dates put the day first when ``day_first`` says so; when it is
    ``None``, when some first number is above 12 and no second one is (see
    :func:`ambiguous_order` for columns where both readings work).
    """
    text = values.astype("str").str.strip().where(values.notna())
    probe = text.head(_DISTINCT_PROBE).dropna()
    if probe.nunique() >= 0.5 * len(probe):  # (almost) every value differs: listing them would only cost time
        return _parse_distinct(text, day_first)
    distinct = pd.Series(text.dropna().unique(), dtype="str")
    if len(distinct) < 0.5 * len(text):  # parse each distinct value once
        lookup = _parse_distinct(distinct, day_first)
        return pd.Series(lookup.to_numpy(), index=distinct.to_numpy()).reindex(text.to_numpy()).set_axis(values.index)
    return _parse_distinct(text, day_first)


def ambiguous_order(values: pd.Series) -> bool:
    """Whether numeric dates read both as month/day and day/month (no first or second number above 12)."""
    parts = _numeric_parts(values.astype("str"))
    return bool(len(parts)) and not (parts > 12).any().any() and bool((parts[0] != parts[1]).any())


# A million dates are a handful of distinct patterns: the regular expressions run on those, in Python
# (the same engine and rules as per value), and the answers are spread back to the rows.


def _per_distinct(keys: pd.Series, test) -> pd.Series:
    """``test`` (a truth value) of each row's key, run once per distinct key; a missing key is False."""
    codes, distinct = pd.factorize(keys)
    hits = np.fromiter((bool(test(key)) for key in distinct), dtype=bool, count=len(distinct))
    return pd.Series(np.append(hits, False)[codes], index=keys.index)  # code -1 (missing) takes the last: False


def _fullmatches(shapes: pd.Series, pattern: re.Pattern) -> pd.Series:
    """``text.str.fullmatch(pattern)`` (missing: False) for a date pattern, given the text's :func:`_digit_shapes`.

    The shape writes every ASCII digit as '0': the date patterns test digits only with ``\\d``, never
    their values, so a value and its shape match alike ('17/06/2018 10:30' → '00/00/0000 00:00').
    """
    return _per_distinct(shapes, pattern.fullmatch)


def _digit_shapes(text: pd.Series) -> pd.Series:
    """``text`` with every digit 1–9 written '0', done on the UTF-8 bytes (Arrow), without a Python string per value.

    An ASCII digit is one byte that no other character's bytes contain, so the bytes can be changed in
    place of the characters (a regular-expression replace took 20 times longer on a million values).
    """
    arrow = pa.array(text, type=pa.large_string(), from_pandas=True)
    if isinstance(arrow, pa.ChunkedArray):
        arrow = arrow.combine_chunks()
    validity, offsets, data = arrow.buffers()
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, dtype=np.uint8)
    zeroed = _ZERO_DIGITS[raw]
    shapes = pa.Array.from_buffers(
        arrow.type, len(arrow), [validity, offsets, pa.py_buffer(zeroed)], arrow.null_count, arrow.offset
    )
    return pd.Series(pd.arrays.ArrowExtensionArray(shapes), index=text.index)


def _numeric_starts(text: pd.Series) -> pd.Series:
    """``text.str.match(_NUMERIC_DATE)`` (missing: False), matched per distinct start of the values."""
    return _per_distinct(text.str.slice(0, _NUMERIC_SPAN), _NUMERIC_DATE.match)


def _numeric_parts(text: pd.Series) -> pd.DataFrame:
    """The distinct (first, second) number pairs of the numeric dates in ``text`` ('10/06/2018' → 10, 6)."""
    starts = pd.unique(text.dropna().str.slice(0, _NUMERIC_SPAN))
    pairs = {tuple(int(n) for n in found.groups()) for start in starts if (found := _NUMERIC_DATE.match(start))}
    return pd.DataFrame(sorted(pairs), columns=[0, 1], dtype=int)


def _parse_distinct(text: pd.Series, day_first: bool | None = None) -> pd.Series:
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    shapes = _digit_shapes(text)
    month = _month_starts(text, shapes)
    if month is not None:
        out = out.where(month.isna(), month)
    full = _fullmatches(shapes, _FULL_DATE) & out.isna()
    low, high = DATE_YEARS
    if full.any():
        days = _to_datetime(text[full], day_first)
        if days.dt.tz is not None and (month is None or month.isna().all()):
            days = days.reindex(text.index)  # every date carries a time zone: keep it
            return days.where(days.dt.year.between(low, high))
        if days.dt.tz is not None:
            days = days.dt.tz_convert(None)
        out = out.where(~full, days.astype("datetime64[us]").reindex(text.index))
    return out.where(out.dt.year.between(low, high))


def _to_datetime(text: pd.Series, day_first: bool | None = None) -> pd.Series:
    """Day-month-year numbers ('10/06/2018') with one day-first rule per column; everything else as written."""
    numeric = _numeric_starts(text)
    if not numeric.any() or numeric.all():
        order = (_day_first(text) if day_first is None else day_first) if numeric.any() else False
        return _parse(text, dayfirst=order)
    order = _day_first(text[numeric]) if day_first is None else day_first
    parts = [_parse(text[numeric], dayfirst=order), _parse(text[~numeric], dayfirst=False)]
    if any(p.dt.tz is not None for p in parts):  # one time line, in UTC
        parts = [pd.to_datetime(p, utc=True).dt.tz_convert(None) for p in parts]
    return pd.concat([p.astype("datetime64[us]") for p in parts]).reindex(text.index)


def _parse(text: pd.Series, *, dayfirst: bool) -> pd.Series:
    """Parse with the format of the first value (fast), then each value left over on its own (slow)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "could not infer format": the per-value parser below is meant
        try:
            first = _with_format(text, dayfirst=dayfirst)
        except (ValueError, TypeError, OverflowError):  # time zones that differ between values
            first = pd.Series(pd.NaT, index=text.index)
        rest = first.isna()
        if not rest.any():
            return first
        try:
            each = pd.to_datetime(text[rest], errors="raise", format="mixed", dayfirst=dayfirst)
        except (ValueError, TypeError, OverflowError):
            each = pd.to_datetime(text[rest], errors="coerce", format="mixed", dayfirst=dayfirst, utc=True)
        if rest.all():
            return each
        if first.dt.tz is not None or each.dt.tz is not None:  # one time line, in UTC
            first = pd.to_datetime(first, utc=True).dt.tz_convert(None)
            each = pd.to_datetime(each, utc=True).dt.tz_convert(None)
        return first.astype("datetime64[us]").where(~rest, each.astype("datetime64[us]"))


def _with_format(text: pd.Series, *, dayfirst: bool) -> pd.Series:
    """``pd.to_datetime(text, errors="coerce", dayfirst=dayfirst)``: every value read with the format of the first.

    pandas reads each value through a Python object (about 3 s for a million). When that format has
    only number fields (``%d/%m/%Y %H:%M``, see :data:`_DIGIT_FORMAT`), polars reads the column, and
    its date is kept only where writing it back in the format gives the value exactly (zero-padded,
    a real date and time, year 1 or later): there pandas reads the same date. Any other value
    (unpadded, extra spaces, a leap second …) is read by pandas, with the same format.
    """
    first = text.iloc[0] if len(text) else None
    fmt = guess_datetime_format(first, dayfirst=dayfirst) if isinstance(first, str) else None
    if fmt is None or not _DIGIT_FORMAT.fullmatch(fmt):
        return pd.to_datetime(text, errors="coerce", dayfirst=dayfirst)
    import polars as pl  # multi-threaded, no Python object per value; loaded with the first dates read

    column = pl.Series(pa.array(text, type=pa.large_string(), from_pandas=True))
    try:
        dates = column.str.strptime(pl.Datetime("us"), fmt, strict=False, exact=True)
    except pl.exceptions.PolarsError:  # a format polars refuses ('%Y-%m-%d %H': an hour without minutes)
        return pd.to_datetime(text, errors="coerce", dayfirst=dayfirst)
    same = (dates.dt.year() >= 1) & (dates.dt.to_string(fmt) == column)
    kept = same.fill_null(False).to_numpy()
    out = pd.Series(dates.to_numpy(), index=text.index, dtype="datetime64[us]").where(kept)
    if not kept.all():
        out[~kept] = pd.to_datetime(text[~kept], format=fmt, errors="coerce").astype("datetime64[us]")
    return out


def _day_first(text: pd.Series) -> bool:
    """Whether numeric dates ('10/06/2018') put the day first: some first number is above 12 and no second one is.

    Decided once per column, so '10/06/2018' and '17/06/2018' in one column are both read day first.
    """
    parts = _numeric_parts(text)
    if parts.empty:
        return False
    return bool((parts[0] > 12).any() and not (parts[1] > 12).any())


def _month_starts(text: pd.Series, shapes: pd.Series) -> pd.Series | None:
    """The first day of the month of values written as a month without a day (else NaT); ``shapes``: see :func:`_digit_shapes`."""
    candidates = _fullmatches(shapes, _ANY_MONTH_ONLY)
    if not candidates.any():
        return None
    year = pd.Series(np.nan, index=text.index)
    month = pd.Series(np.nan, index=text.index)
    text = text.where(candidates)
    for pattern in _MONTH_ONLY:
        found = text.str.extract(pattern.pattern, flags=re.IGNORECASE)
        hit = found["year"].notna() & text.str.fullmatch(pattern).fillna(False).astype(bool) & year.isna()
        if not hit.any():
            continue
        year = year.where(~hit, pd.to_numeric(found["year"], errors="coerce"))
        if "name" in found:
            number = found["name"].str.lower().str[:3].map(_MONTH_NUMBER)
        else:
            number = pd.to_numeric(found["month"], errors="coerce")
        month = month.where(~hit, number)
    if year.isna().all():
        return None
    low, high = MONTH_YEARS
    valid = year.between(low, high) & month.between(1, 12)
    if _season_like(year[valid], month[valid], text[valid]):
        return None
    frame = pd.DataFrame({"year": year.where(valid), "month": month.where(valid), "day": 1})
    return pd.to_datetime(frame, errors="coerce").astype("datetime64[us]")


def _season_like(year: pd.Series, month: pd.Series, text: pd.Series) -> bool:
    """'2009-10', '2010-11': year ranges (seasons), not months: the second number is always the next year."""
    numeric = text.str.fullmatch(r"\d{4}-\d{2}").fillna(False).astype(bool)
    if not numeric.any():
        return False
    return bool(((year[numeric] + 1) % 100 == month[numeric]).all())
