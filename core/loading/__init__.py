"""Turn the bytes of an uploaded file into a :class:`Dataset`.

Reading is robust to what people actually upload: delimiter (``,`` ``;`` tab
``|``), encoding (UTF-8 with or without BOM, UTF-16 with BOM, Windows-1252 /
Latin-1), decimal commas, thousands separators, common missing-value tokens,
quoted fields with newlines, duplicate or empty column names and ragged rows.
Everything detected is recorded in a :class:`LoadReport` so the page can show
it and let the person override it.

Parsing is done by polars straight from the uploaded bytes (multi-threaded,
the fastest reader measured here) and handed to pandas through Arrow; the
small sample used for detection is parsed with the standard ``csv`` module.

The package, one concern per module:

* :mod:`~core.loading.entry` — the way in: :func:`load_file`, :func:`load_path`, the shape checks;
* :mod:`~core.loading.detect` — sniffing a text file: encoding, delimiter, header, number format;
* :mod:`~core.loading.text` — reading text files with polars: ragged rows, missing-value markers;
* :mod:`~core.loading.excel` — reading a workbook's sheet and tidying it (:func:`tidy_sheet`);
* :mod:`~core.loading.column_types` — typing text that holds numbers with separators, or dates;
* :mod:`~core.loading.report` — :class:`LoadReport`, :class:`Dataset`, unique column names and
  the count of cells read as missing.

The names below are the package's public API. The reading options (:class:`~core.load_options.LoadOptions`,
the upload limit, the reader's vocabulary) are :mod:`core.load_options`, without pandas for the first page.
"""

from core.loading.detect import Sniffed, detect_delimiter, detect_encoding, sniff
from core.loading.entry import MAX_COLUMNS, load_file, load_path
from core.loading.excel import EXCEL_SUFFIXES, excel_sheets, tidy_sheet
from core.loading.report import Dataset, LoadReport, unique_names

__all__ = [
    "EXCEL_SUFFIXES",
    "MAX_COLUMNS",
    "Dataset",
    "LoadReport",
    "Sniffed",
    "detect_delimiter",
    "detect_encoding",
    "excel_sheets",
    "load_file",
    "load_path",
    "sniff",
    "tidy_sheet",
    "unique_names",
]
