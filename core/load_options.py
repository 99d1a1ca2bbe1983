"""What a person may choose about reading a file, and what they are told before they upload one.

The options (:class:`LoadOptions`), the delimiters, encodings and missing-value markers the
reader knows, and the upload limit. No pandas here: the Data page's upload box and the session
state load with this module, before any table (:mod:`core.loading`, which re-exports every name,
reads the files).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Tokens read as "missing" in any column (besides the empty cell).
MISSING_TOKENS: tuple[str, ...] = (
    "NA", "N/A", "n/a", "na", "NaN", "nan", "NULL", "null", "Null", "None",
    "none", "?", "-", "--", "#N/A", "#NA", "missing",
)  # fmt: skip
DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
ENCODINGS: tuple[str, ...] = ("utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1")
#: Default upload limit in megabytes; matches ``server.maxUploadSize``.
MAX_UPLOAD_MB = 500


@dataclass(frozen=True)
class LoadOptions:
    """What the person chose; ``None`` means "detect it"."""

    delimiter: str | None = None
    encoding: str | None = None
    header: bool | None = None
    sheet: str | None = None
    #: Values read as missing besides :data:`MISSING_TOKENS` (such as 'unknown' or 'tbd').
    missing: tuple[str, ...] = ()
    #: Numeric dates such as 03/04/2018: day first (True), month first (False) or detected (None).
    day_first: bool | None = None
