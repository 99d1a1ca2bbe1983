"""Reading a text file bigger than memory: exact counts from a lazy scan, the rest from a seeded sample.

A file above the big-file limit (:data:`core.server_settings.BIG_FILE_MB`) is never read whole:

1. its layout (encoding, delimiter, header, column names) is detected from its first megabyte by the
   normal reader's detection (:func:`core.loading.detect.sniff`); a file that is not UTF-8 is converted
   to a UTF-8 copy in the session's scratch folder, a chunk at a time (polars scans UTF-8 only);
2. one streaming pass of polars' lazy CSV scan, every column read as text, counts the rows and each
   column's missing cells exactly (empty cells, cells of only spaces, the missing-value markers: what the
   normal reader reads as missing);
3. a second pass keeps a seeded, uniform sample of at most :data:`SAMPLE_ROWS` rows (fewer when the
   session's memory asks for it): each row's number is hashed with the seed (a SplitMix64 mix in polars'
   wrapping integer arithmetic, the same in every version), the rows with the smallest hashes are kept, in
   file order; the sample is written back as CSV text and read by the normal reader
   (:func:`core.loading.text.load_text`), so it is typed exactly as a file that small would be.

:func:`training_sample` draws, from the whole file again, the rows a run trains on: stratified by the
target (exact class counts from a scan; every class keeps its share, and at least
:data:`MIN_CLASS_ROWS` rows) or uniform. The table a session holds is always such a sample; what it is
a sample of travels with it (:class:`core.big_files.SampleOf` in ``DataFrame.attrs``) into the training
request, the report, the model card and the recorded run.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import os

import pandas as pd

from core.big_files import BigSource, SampleOf, ScratchDir, mark_sample, size_words
from core.errors import DataLoadError
from core.load_options import MISSING_TOKENS, LoadOptions
from core.loading.detect import Sniffed, sniff
from core.loading.report import Dataset, LoadReport, dedupe_names
from core.loading.text import load_text

#: The most rows a session's table (the profile's sample, the training sample) holds from a big file.
SAMPLE_ROWS = 500_000
#: The fewest rows a sample holds, whatever the memory (fewer would not say much about a big file).
MIN_SAMPLE_ROWS = 10_000
#: A session's table may take this share of the session's memory: a run copies it into its split, each
#: model's pipeline and the cluster's workers.
TABLE_SHARE = 0.1
#: Each class of a stratified sample keeps at least this many rows (or all it has).
MIN_CLASS_ROWS = 10
#: The layout and the memory a row takes are measured on this much of the file's start.
HEAD_BYTES = 1024 * 1024
#: Files are converted to UTF-8 this much at a time.
_CHUNK_BYTES = 16 * 1024 * 1024
_ROW = "__nocode_row"
_HASH = "__nocode_hash"
_CLASS = "__nocode_class"
_MISSING_CLASS = "\0missing"
_BLANK = r"^\s+$"
_MASK64 = 2**64 - 1


def open_big(
    path: str,
    name: str,
    options: LoadOptions | None = None,
    *,
    scratch: ScratchDir | None = None,
    memory_mb: float | None = None,
    seed: int = 0,
    max_rows: int = SAMPLE_ROWS,
) -> Dataset:
    """Read the text file at ``path`` lazily: exact counts of all rows, a typed seeded sample as the table.

    Args:
        path: The file on disk (an upload written to the session's scratch folder, or a server file).
        name: The name shown to the person.
        options: The person's reading choices (delimiter, encoding, header, extra markers, date order).
        scratch: Where a UTF-8 copy goes when the file is in another encoding (required then).
        memory_mb: The session's memory; the sample is sized to a share of it (:func:`sample_rows`).
        seed: The sample's seed: the same seed gives the same rows.
        max_rows: The most rows the sample may hold.

    Returns:
        A :class:`Dataset` whose frame is the sample and whose ``big`` holds the exact counts.

    Raises:
        DataLoadError: The file cannot be read as a table; the message says why and what to do.
    """
    options = options or LoadOptions()
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
    if not head.strip():
        raise DataLoadError(f"'{name}' is empty.", hint="Choose a file with a header row and data.")
    sniffed = sniff(head, options)
    notices: list[str] = []
    scan_path = _utf8_copy(path, sniffed.encoding, scratch, notices)
    report = LoadReport(file_name=name, file_kind="csv", size_bytes=size, encoding=sniffed.encoding)
    names = _names(head, sniffed, report)
    try:
        rows, missing = exact_counts(scan_path, names, sniffed, options.missing)
    except _NotUtf8:
        if options.encoding is not None:
            raise DataLoadError(
                f"'{name}' is not valid {options.encoding} text.",
                hint="Leave the encoding on automatic or try Windows-1252 (cp1252).",
            ) from None
        notices.append("Most of the file looked like UTF-8 but some bytes were not; it was read as Windows-1252.")
        sniffed = Sniffed("cp1252", sniffed.delimiter, sniffed.header, sniffed.decimal, sniffed.thousands)
        scan_path = _utf8_copy(path, "cp1252", scratch, notices)
        rows, missing = exact_counts(scan_path, names, sniffed, options.missing)
    if rows == 0:
        raise DataLoadError(
            f"'{name}' has column names but no data rows.",
            hint="Add data below the header, or untick 'First row is the header' if the first row is data.",
        )
    per_row = _bytes_per_row(head, sniffed, names, options)
    wanted = sample_rows(per_row, memory_mb, max_rows)
    big = BigSource(
        path=scan_path,
        name=name,
        size_bytes=size,
        names=tuple(names),
        delimiter=sniffed.delimiter,
        header=sniffed.header,
        encoding=sniffed.encoding,
        rows=rows,
        missing=missing,
        sample=SampleOf(0, rows, seed),
        bytes_per_row=per_row,
        options=options,
    )
    dataset = _read_sample(big, _uniform_rows(big, wanted, seed), SampleOf(0, rows, seed))
    dataset.report.renamed_columns = report.renamed_columns
    notice = _lazy_notice(dataset.big, dataset)
    dataset.report.notices[:0] = [*notices, *report.notices, notice]
    return dataset


def training_sample(
    big: BigSource,
    target: str | None,
    *,
    stratify: bool,
    memory_mb: float | None = None,
    max_rows: int = SAMPLE_ROWS,
    like: pd.DataFrame | None = None,
) -> Dataset:
    """The rows a run trains on, drawn from the whole file: stratified by ``target`` when ``stratify``, else uniform.

    Stratified: the exact count of each class (a missing target is a class of its own) comes from a scan;
    each class keeps ``round(count × rows / all rows)`` rows, at least :data:`MIN_CLASS_ROWS` (or all it has),
    the rows with the smallest seeded hashes. ``like`` (the table held so far) gives the column types the
    new sample keeps, so roles inferred on the first sample still fit.
    """
    seed = big.sample.seed
    wanted = sample_rows(big.bytes_per_row, memory_mb, max_rows)
    if stratify and target is not None and target in big.names:
        table = _stratified_rows(big, target, wanted, seed)
        by: str | None = target
    else:
        table = _uniform_rows(big, wanted, seed)
        by = None
    dataset = _read_sample(big, table, SampleOf(0, big.rows, seed, by))
    if like is not None:
        _align_types(dataset.frame, like, dataset.report.notices)
    notice = _lazy_notice(dataset.big, dataset)
    dataset.report.notices.insert(0, notice)
    return dataset


def sample_rows(bytes_per_row: float, memory_mb: float | None, max_rows: int = SAMPLE_ROWS) -> int:
    """The rows a session's table may hold: :data:`TABLE_SHARE` of ``memory_mb`` at ``bytes_per_row``, capped."""
    if not memory_mb or bytes_per_row <= 0:
        return max_rows
    fit = int(memory_mb * 1024 * 1024 * TABLE_SHARE / bytes_per_row)
    return max(min(MIN_SAMPLE_ROWS, max_rows), min(max_rows, fit))


def exact_counts(
    path: str, names: list[str], sniffed: Sniffed, extra_missing: tuple[str, ...] = ()
) -> tuple[int, dict[str, int]]:
    """Rows and missing cells per column of the whole file, in one streaming pass."""
    import polars as pl

    frame = _scan(path, names, sniffed)
    exprs = [pl.len().alias(_ROW)] + [_missing(n, extra_missing).sum().alias(f"m{i}") for i, n in enumerate(names)]
    counts = _collect(frame.select(exprs)).row(0)
    return int(counts[0]), {name: int(count) for name, count in zip(names, counts[1:], strict=True)}


def class_counts(big: BigSource, target: str) -> dict[str, int]:
    """Rows per value of ``target`` in the whole file (missing values counted under one key)."""
    import polars as pl

    scan = _scan(big.path, list(big.names), _sniffed(big))
    keyed = scan.select(_class_key(target, _extra(big)).alias(_CLASS))
    counts = _collect(keyed.group_by(_CLASS).agg(pl.len().alias("n")))
    return dict(zip(counts[_CLASS].to_list(), counts["n"].to_list(), strict=True))


# --------------------------------------------------------------------------- the scans


class _NotUtf8(Exception):
    """polars met bytes that are not UTF-8."""


def _scan(path: str, names: list[str], sniffed: Sniffed):
    """The file as a lazy frame of text columns named ``names`` (rows with extra fields are cut)."""
    import polars as pl

    return pl.scan_csv(
        path,
        separator=sniffed.delimiter,
        has_header=sniffed.header,
        new_columns=list(names),
        infer_schema=False,
        truncate_ragged_lines=True,
        raise_if_empty=False,
    )


def _collect(frame):
    """Run a lazy query on polars' streaming engine; a file polars cannot read becomes a message."""
    import polars as pl

    try:
        return frame.collect(engine="streaming")
    except pl.exceptions.ComputeError as exc:
        if "utf-8" in str(exc).lower() or "utf8" in str(exc).lower():
            raise _NotUtf8(str(exc)) from exc
        raise DataLoadError(f"The file could not be scanned as a table: {str(exc)[:300]}") from exc
    except pl.exceptions.PolarsError as exc:
        raise DataLoadError(f"The file could not be scanned as a table: {str(exc)[:300]}") from exc


def _missing(name: str, extra: tuple[str, ...]):
    """True where the normal reader reads a cell as missing (empty, only spaces, a marker)."""
    import polars as pl

    tokens = pl.Series([*MISSING_TOKENS, *extra], dtype=pl.String).implode()
    column = pl.col(name)
    return column.is_null() | column.is_in(tokens) | column.str.contains(_BLANK)


def _class_key(target: str, extra: tuple[str, ...]):
    import polars as pl

    return pl.when(_missing(target, extra)).then(pl.lit(_MISSING_CLASS)).otherwise(pl.col(target))


def _row_hash(seed: int):
    """A uniform 64-bit hash of each row's number and ``seed`` (SplitMix64's mix; wrapping UInt64 arithmetic)."""
    import polars as pl

    def u64(value: int):
        return pl.lit(value & _MASK64, dtype=pl.UInt64)

    z = pl.col(_ROW).cast(pl.UInt64) * u64(0x9E3779B97F4A7C15) + u64(seed * 0xD1B54A32D192ED03 + 0x632BE59BD9B4E019)
    z = (z.xor(z // u64(2**30))) * u64(0xBF58476D1CE4E5B9)
    z = (z.xor(z // u64(2**27))) * u64(0x94D049BB133111EB)
    return z.xor(z // u64(2**31))


def _threshold(keep: int, out_of: int) -> int:
    """A hash bound under which a little more than ``keep`` of ``out_of`` rows fall (5 standard deviations)."""
    if out_of <= 0 or keep >= out_of:
        return _MASK64
    rate = min(1.0, (keep + 5 * math.sqrt(keep) + 10) / out_of)
    return min(_MASK64, int(rate * 2**64))


def _hashed(big: BigSource):
    scan = _scan(big.path, list(big.names), _sniffed(big)).with_row_index(_ROW)
    return scan.with_columns(_row_hash(big.sample.seed).alias(_HASH))


def _uniform_rows(big: BigSource, rows: int, seed: int):
    """At most ``rows`` rows, those with the smallest hashes, in file order (a polars table of text)."""
    import polars as pl

    hashed = _hashed(_with_seed(big, seed))
    if rows < big.rows:
        hashed = hashed.filter(pl.col(_HASH) < pl.lit(_threshold(rows, big.rows), dtype=pl.UInt64))
    table = _collect(hashed)
    return table.sort(_HASH).head(rows).sort(_ROW)


def _stratified_rows(big: BigSource, target: str, rows: int, seed: int):
    """Each class's share of ``rows`` (at least :data:`MIN_CLASS_ROWS`), smallest hashes first, in file order."""
    import polars as pl

    counts = class_counts(big, target)
    total = sum(counts.values())
    quotas = {key: min(n, max(MIN_CLASS_ROWS, round(n * rows / total))) for key, n in counts.items()}
    hashed = _hashed(_with_seed(big, seed)).with_columns(_class_key(target, _extra(big)).alias(_CLASS))
    # One plain comparison per class, chained: replace_strict here made polars' streaming engine fall back to
    # reading the whole file into memory (20 GB for bench_big's 5 GB file).
    bound = pl.lit(_MASK64, dtype=pl.UInt64)
    for key, n in counts.items():
        value = pl.lit(_threshold(quotas[key], n), dtype=pl.UInt64)
        bound = pl.when(pl.col(_CLASS) == pl.lit(key, dtype=pl.String)).then(value).otherwise(bound)
    table = _collect(hashed.filter(pl.col(_HASH) < bound))
    limit = pl.col(_CLASS).replace_strict(list(quotas), list(quotas.values()), default=0, return_dtype=pl.UInt32)
    ranked = pl.col(_HASH).rank("ordinal").over(_CLASS)
    return table.filter(ranked <= limit).drop(_CLASS).sort(_ROW)


def _read_sample(big: BigSource, table, sample: SampleOf) -> Dataset:
    """The sampled rows (text) typed by the normal reader, as the session's :class:`Dataset`."""
    rows = table.height
    data = table.drop(_ROW, _HASH).write_csv(separator=big.delimiter, null_value="", quote_style="necessary")
    del table
    options = big.options if isinstance(big.options, LoadOptions) else LoadOptions()
    read_as = LoadOptions(
        delimiter=big.delimiter, encoding="utf-8", header=True, missing=options.missing, day_first=options.day_first
    )
    dataset = load_text(data.encode("utf-8"), big.name, read_as)
    del data
    held = SampleOf(rows, big.rows, sample.seed, sample.by)
    mark_sample(dataset.frame, held)
    report = dataset.report
    report.size_bytes, report.encoding, report.header = big.size_bytes, big.encoding, big.header
    dataset.big = BigSource(**{**big.__dict__, "sample": held})
    return dataset


def _lazy_notice(big: BigSource | None, dataset: Dataset) -> str:
    assert big is not None
    dataset.report.notices = [
        n.replace("Read as missing: ", "Read as missing in the sample: ", 1) for n in dataset.report.notices
    ]
    from core.server_settings import BIG_FILE_MB

    above = f"the file ({size_words(big.size_bytes)}) is above the {BIG_FILE_MB.value():g} MB this server reads whole"
    if not big.sample.sampled:  # every row fitted in the session's table after all
        return f"Read lazily: {above}. All its {big.rows:,} rows fit in this session's table: nothing was sampled."
    return (
        f"Read lazily: {above}. Rows and missing counts cover all {big.rows:,} rows; the table shown and "
        f"used is {big.sample.how()} of {dataset.n_rows:,} rows (seed {big.sample.seed})."
    )


# --------------------------------------------------------------------------- layout, encoding, types


def _names(head: bytes, sniffed: Sniffed, report: LoadReport) -> list[str]:
    text = codecs.decode(head, "utf-8" if sniffed.encoding.startswith("utf-8") else sniffed.encoding, "replace")
    text = text.removeprefix("\ufeff")
    try:
        first = next(csv.reader(io.StringIO(text), delimiter=sniffed.delimiter))
    except (StopIteration, csv.Error) as exc:
        raise DataLoadError("The first row could not be read.", hint="Check the delimiter and encoding.") from exc
    if sniffed.header:
        return dedupe_names(first, report)
    return [f"column_{i + 1}" for i in range(len(first))]


def _bytes_per_row(head: bytes, sniffed: Sniffed, names: list[str], options: LoadOptions) -> float:
    """Memory one typed row takes: the head's complete lines read by the normal reader."""
    cut = head.rfind(b"\n")
    text = head[: cut + 1] if cut > 0 else head
    if not sniffed.encoding.startswith("utf-8"):
        text = text.decode(sniffed.encoding, errors="replace").encode("utf-8")
    try:
        frame = load_text(text, "head", LoadOptions(delimiter=sniffed.delimiter, header=sniffed.header)).frame
    except DataLoadError:
        return 0.0
    return float(frame.memory_usage(deep=True).sum()) / max(len(frame), 1)


def _utf8_copy(path: str, encoding: str, scratch: ScratchDir | None, notices: list[str]) -> str:
    """``path`` itself when it is UTF-8, else a UTF-8 copy in ``scratch``, converted a chunk at a time."""
    if encoding in ("utf-8", "utf-8-sig"):
        return path
    if scratch is None:
        raise DataLoadError(
            f"This file is {encoding} text; a file this big is read as UTF-8 only.",
            hint="Convert it first, e.g. `iconv -f CP1252 -t UTF-8 in.csv > out.csv`, or upload it.",
        )
    target = scratch.new_file(".csv")
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with open(path, "rb") as src, open(target, "w", encoding="utf-8", newline="") as dst:
            while chunk := src.read(_CHUNK_BYTES):
                dst.write(decoder.decode(chunk))
            dst.write(decoder.decode(b"", final=True))
    except UnicodeDecodeError as exc:
        raise DataLoadError(
            f"The file is not valid {encoding} text.", hint="Leave the encoding on automatic or choose another one."
        ) from exc
    notices.append(f"The file is {encoding} text; it was converted to UTF-8 (a copy kept while you use it).")
    return target


def _align_types(frame: pd.DataFrame, like: pd.DataFrame, notices: list[str]) -> None:
    """Give ``frame``'s columns the types they have in ``like`` where the two samples disagree."""
    changed = []
    for name in frame.columns.intersection(like.columns):
        want, have = like[name].dtype, frame[name].dtype
        if want == have or pd.api.types.is_string_dtype(want):
            continue
        if pd.api.types.is_numeric_dtype(want) and not pd.api.types.is_bool_dtype(want):
            frame[name] = pd.to_numeric(frame[name], errors="coerce")
        elif pd.api.types.is_datetime64_any_dtype(want):
            frame[name] = pd.to_datetime(frame[name], errors="coerce")
        else:
            continue
        changed.append(name)
    if changed:
        listed = ", ".join(f"'{n}'" for n in changed[:5])
        notices.append(
            f"Typed as in the first sample: {listed}; values of another kind in the training sample became missing."
        )


def _sniffed(big: BigSource) -> Sniffed:
    return Sniffed("utf-8", big.delimiter, big.header, ".", None)


def _extra(big: BigSource) -> tuple[str, ...]:
    return big.options.missing if isinstance(big.options, LoadOptions) else ()


def _with_seed(big: BigSource, seed: int) -> BigSource:
    return big if big.sample.seed == seed else BigSource(**{**big.__dict__, "sample": SampleOf(0, big.rows, seed)})
