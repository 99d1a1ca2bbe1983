"""The way in: bytes or a path → a checked :class:`Dataset`, read as Excel or as text."""

from __future__ import annotations

from core.errors import DataLoadError
from core.load_options import MAX_UPLOAD_MB, LoadOptions
from core.loading.excel import EXCEL_SUFFIXES, load_excel
from core.loading.report import Dataset
from core.loading.text import load_text

#: Files with more columns are refused, with the reason.
MAX_COLUMNS = 5_000


def load_file(
    data: bytes,
    file_name: str,
    options: LoadOptions | None = None,
    *,
    max_bytes: int = MAX_UPLOAD_MB * 1024 * 1024,
) -> Dataset:
    """Read an uploaded CSV/TSV/Excel file into a :class:`Dataset`.

    Args:
        data: The file's bytes, as ``st.file_uploader`` hands them over.
        file_name: Its name; the suffix decides between Excel and text.
        options: Overrides for what is otherwise detected.
        max_bytes: Refuse larger files with a clear message.

    Raises:
        DataLoadError: The file cannot be read as a table; the message says why
            and what to do.
    """
    options = options or LoadOptions()
    if len(data) > max_bytes:
        raise DataLoadError(
            f"'{file_name}' is {len(data) / 1e6:,.0f} MB, over the {max_bytes / 1e6:,.0f} MB limit.",
            hint="Upload a smaller extract (for example a sample of the rows) "
            "or raise server.maxUploadSize in .streamlit/config.toml.",
        )
    if not data or (len(data) < 1_000_000 and not data.strip()):
        raise DataLoadError(f"'{file_name}' is empty.", hint="Choose a file with a header row and data.")
    try:
        if file_name.lower().endswith(EXCEL_SUFFIXES) or data[:4] == b"PK\x03\x04":
            dataset = load_excel(data, file_name, options)
        else:
            dataset = load_text(data, file_name, options)
    except DataLoadError:
        raise
    except (MemoryError, RecursionError) as exc:
        raise DataLoadError(
            f"'{file_name}' is too large or too deeply nested to read here ({type(exc).__name__})."
        ) from exc
    except Exception as exc:  # a parser failure we did not foresee: still a message, not a crash
        raise DataLoadError(
            f"'{file_name}' could not be read as a table ({type(exc).__name__}: {str(exc)[:200]}).",
            hint="Check that it is a CSV/TSV text file or an .xlsx workbook, or pick the delimiter and encoding by hand.",
        ) from exc
    _check_shape(dataset)
    return dataset


def load_path(path: str, options: LoadOptions | None = None) -> Dataset:
    """Read a file from disk (bundled samples, scripts, benchmarks)."""
    with open(path, "rb") as fh:
        data = fh.read()
    return load_file(data, path.replace("\\", "/").rsplit("/", 1)[-1], options)


def _check_shape(dataset: Dataset) -> None:
    """Refuse a table without columns, with too many, or without rows."""
    frame = dataset.frame
    if frame.shape[1] == 0:
        raise DataLoadError(
            f"No columns were found in '{dataset.name}'.",
            hint="Check that the first line holds column names separated by commas, semicolons, tabs or pipes.",
        )
    if frame.shape[1] > MAX_COLUMNS:
        raise DataLoadError(
            f"'{dataset.name}' has {frame.shape[1]:,} columns; this app handles up to {MAX_COLUMNS:,}.",
            hint="Select the columns you need before uploading.",
        )
    if len(frame) == 0:
        raise DataLoadError(
            f"'{dataset.name}' has column names but no data rows.",
            hint="Add data below the header, or untick 'First row is the header' if the first row is data.",
        )
    if frame.shape[1] == 1:
        dataset.report.notices.append(
            "Only one column was found. If the file has more, pick the delimiter by hand above."
        )
