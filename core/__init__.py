"""The no-code ML dashboard's library: every rule and computation behind the pages (never imports Streamlit)."""

#: The app's version, defined once: pyproject.toml reads it, model cards and bundles record it.
__version__ = "0.1.0"

#: The app's distribution name (pyproject.toml's ``name``), the key its version is recorded under.
DISTRIBUTION = "nocode-ml-dashboard"
