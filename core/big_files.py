"""Files bigger than memory, before any table is read: the server's data folder, a session's scratch files,
and the memory a file needs.

Standard library only: the Data page lists the server's files and states the upload limit on a
session's first page, before pandas or polars load. The reading itself is :mod:`core.loading.lazy`.

* The administrator may name a folder (``NOCODE_DATA_DIR``, :data:`core.server_settings.DATA_DIR`) whose
  CSV files people open by name: :func:`data_files` lists them, :func:`resolve_data_file` turns a name into
  a path and refuses anything outside the folder (``..``, absolute paths, symlinks leading out).
* An upload above the big-file limit is written once to a :class:`ScratchDir` owned by the session: its
  folder goes when the object does (the session ends and its state is cleared, or the server stops) or
  when :meth:`ScratchDir.keep_only` lets go of files no table uses any more.
* :func:`memory_needed_mb` says what a file of a given size needs read whole and read lazily.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
import uuid
import weakref
from dataclasses import dataclass
from pathlib import Path

from core.errors import DataLoadError

#: File names the data folder offers (text tables; Excel files are read whole, through an upload).
DATA_SUFFIXES = (".csv", ".tsv", ".txt")
#: Reading a text file whole peaks at about this many times its size (the bytes, polars' table, pandas' copy,
#: the typing of dates): 1.9 GB above the process's own for bench/bench_big.py's 242 MB file (5M rows × 9).
WHOLE_READ_FACTOR = 8.0
#: A lazy read holds the sample (at most :data:`core.loading.lazy.SAMPLE_ROWS` rows) plus polars' streaming
#: buffers: about this many megabytes whatever the file's size (bench/bench_big.py's 5 GB file: 0.9 GB of the
#: process's own memory at the peak, rounded up for wider rows).
LAZY_READ_MB = 1_500.0


@dataclass(frozen=True)
class DataFile:
    """A file in the server's data folder: its name there and its size."""

    name: str
    size_bytes: int

    @property
    def size_words(self) -> str:
        return size_words(self.size_bytes)


def size_words(size_bytes: float) -> str:
    """ "820 KB", "12.5 MB", "5.2 GB"."""
    if size_bytes >= 1e9:
        return f"{size_bytes / 1e9:,.1f} GB"
    if size_bytes >= 1e6:
        return f"{size_bytes / 1e6:,.1f} MB"
    return f"{max(size_bytes, 0) / 1e3:,.0f} KB"


def data_files(folder: str) -> list[DataFile]:
    """The table files directly in ``folder`` (name order); none when it is not set or not a folder."""
    if not folder or not os.path.isdir(folder):
        return []
    base = Path(folder).resolve()
    found: list[DataFile] = []
    for entry in sorted(os.scandir(base), key=lambda e: e.name.lower()):
        if not entry.name.lower().endswith(DATA_SUFFIXES) or entry.name.startswith("."):
            continue
        try:
            path = resolve_data_file(folder, entry.name)
        except DataLoadError:
            continue  # a symlink leading out of the folder is not offered
        if path.is_file():
            found.append(DataFile(entry.name, path.stat().st_size))
    return found


def resolve_data_file(folder: str, name: str) -> Path:
    """The path of the file called ``name`` in the data folder ``folder``.

    Raises:
        DataLoadError: No data folder is set, the name is not a plain file name in it (``..``, a slash, an
            absolute path) or it leads outside the folder once symlinks are followed.
    """
    if not folder or not os.path.isdir(folder):
        raise DataLoadError(
            "This server has no data folder.",
            hint="The administrator can set NOCODE_DATA_DIR to a folder of CSV files people may open.",
        )
    refused = DataLoadError(
        f"'{name}' is not a file of the server's data folder.",
        hint="Pick one of the files listed on the Data page.",
    )
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name or os.path.isabs(name):
        raise refused
    base = Path(folder).resolve()
    path = (base / name).resolve()
    if path.parent != base or not path.is_relative_to(base):
        raise refused
    if not path.is_file():
        raise DataLoadError(f"'{name}' is no longer in the server's data folder.", hint="Pick another file.")
    return path


def memory_needed_mb(size_mb: float) -> tuple[float, float]:
    """Megabytes a text file of ``size_mb`` needs: (read whole, read lazily with a sample)."""
    return WHOLE_READ_FACTOR * size_mb, min(LAZY_READ_MB, WHOLE_READ_FACTOR * size_mb)


def limits_words(upload_mb: float, big_mb: float, machine_mb: float) -> str:
    """What an administrator (and a person with a big file) should know: the upload limit, where lazy reading
    starts, the memory a file at the limit needs read whole and lazily, and this machine's memory."""
    whole, lazy = memory_needed_mb(upload_mb)
    mib = 1024 * 1024  # Streamlit's and the settings' megabytes
    machine = f"this machine has {size_words(machine_mb * mib)}" if machine_mb else "this machine's memory is unknown"
    return (
        f"Uploads up to {upload_mb:,.0f} MB (Streamlit's server.maxUploadSize; the administrator raises it with "
        f"`streamlit run app.py --server.maxUploadSize 8000`). Text files above {big_mb:,.0f} MB "
        f"(NOCODE_BIG_FILE_MB) are not read whole: rows and missing values are counted over the whole file, the "
        f"rest comes from a seeded sample. A file at the upload limit needs about {size_words(whole * mib)} of "
        f"memory read whole, about {size_words(lazy * mib)} read lazily; {machine}."
    )


@dataclass(frozen=True)
class SampleOf:
    """What a sampled table is a sample of: kept with the table (``frame.attrs``) and the training run.

    ``by`` names the column the sample is stratified by (each class keeps its share of the file's rows);
    ``None``: a seeded uniform sample.
    """

    rows: int
    of_rows: int
    seed: int
    by: str | None = None

    @property
    def sampled(self) -> bool:
        return self.rows < self.of_rows

    def how(self) -> str:
        """ "a stratified sample by 'churn'" or "a seeded uniform sample"."""
        return f"a stratified sample by '{self.by}'" if self.by else "a seeded uniform sample"

    def note(self) -> str:
        """ "500,000 of 40,000,000 rows (a stratified sample by 'churn')"."""
        return f"{self.rows:,} of {self.of_rows:,} rows ({self.how()})"

    def trained_note(self) -> str:
        """The sentence for the report, the model card, the slides and the recorded run."""
        return (
            f"Trained on {self.note()} of a file too big to read whole, seed {self.seed}: every number here "
            f"comes from these {self.rows:,} rows."
        )


#: The key of a :class:`SampleOf` (as a dict) in a sampled table's ``DataFrame.attrs`` (see :func:`sample_of`).
SAMPLE_ATTR = "nocode.sample_of"


def sample_of(frame) -> SampleOf | None:
    """What ``frame`` (a pandas table) is a sample of, or ``None`` when it is a whole file."""
    held = getattr(frame, "attrs", {}).get(SAMPLE_ATTR)
    if not isinstance(held, dict):
        return None
    try:
        found = SampleOf(int(held["rows"]), int(held["of_rows"]), int(held["seed"]), held.get("by"))
    except (KeyError, TypeError, ValueError):
        return None
    return found if found.sampled else None


def mark_sample(frame, held: SampleOf) -> None:
    """Record in ``frame.attrs`` what it is a sample of (plain JSON: Arrow and Streamlit serialise attrs)."""
    frame.attrs[SAMPLE_ATTR] = dataclasses.asdict(held)


@dataclass
class BigSource:
    """A text file read lazily: where it is, how it is laid out, its exact counts and the sample held."""

    #: The file the scans read (UTF-8; a converted copy in the session's scratch folder when it was not).
    path: str
    name: str
    size_bytes: int
    names: tuple[str, ...]
    delimiter: str
    header: bool
    #: The file's encoding as detected or chosen (the scans read :attr:`path`, always UTF-8).
    encoding: str
    #: Exact, from a scan of every row.
    rows: int
    missing: dict[str, int]
    #: The table the session holds (the profile's sample, later the training sample).
    sample: SampleOf
    #: Memory one row takes once typed, measured on the first sample (for sizing samples).
    bytes_per_row: float
    #: The reading options the person chose (``core.load_options.LoadOptions``).
    options: object = None

    def profile_note(self, sample_rows: int, table_rows: int) -> str:
        """Which of the profile's figures are exact and which come from a sample (``sample_rows`` of the
        ``table_rows`` the session holds)."""
        sampled = sample_rows < self.rows
        spread = f"a seeded sample of {sample_rows:,} rows" if sampled else f"all {self.rows:,} rows"
        read = f"the {table_rows:,} rows read ({self.sample.how()})" if table_rows < self.rows else "all rows"
        return (
            f"Rows and missing counts: all {self.rows:,} rows of the file. Distributions, correlations and "
            f"distinct values: {spread}. Duplicate rows: among {read}. Memory: estimated for all rows."
        )


class ScratchDir:
    """A folder of one session's big files (uploads written to disk, files converted to UTF-8).

    The folder is removed when this object is garbage-collected (a session's state is cleared when it
    ends) or at the latest when the server process exits (``weakref.finalize``).
    """

    def __init__(self, parent: str | None = None) -> None:
        self.path = tempfile.mkdtemp(prefix="nocode-big-", dir=parent)
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.path, ignore_errors=True)

    def new_file(self, suffix: str = ".csv") -> str:
        """A fresh path in the folder (the file is not created)."""
        return os.path.join(self.path, f"{uuid.uuid4().hex}{suffix}")

    def write(self, data: bytes, suffix: str = ".csv") -> str:
        """``data`` written to a fresh file; its path."""
        path = self.new_file(suffix)
        with open(path, "wb") as fh:
            fh.write(data)
        return path

    def keep_only(self, paths: set[str]) -> None:
        """Remove every file of the folder but ``paths`` (the files the session's tables still read)."""
        if not os.path.isdir(self.path):
            return
        keep = {os.path.abspath(p) for p in paths if p}
        for entry in os.scandir(self.path):
            if os.path.abspath(entry.path) not in keep:
                with contextlib.suppress(OSError):  # gone already, or held by another process
                    os.remove(entry.path)

    def close(self) -> None:
        """Remove the folder now."""
        self._finalizer()

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive
