"""Streamlit glue shared by the pages: state keys, journey, shared views."""
