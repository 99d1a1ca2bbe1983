"""Teaching: the guided mode's notes per journey step and the glossary they link to (no Streamlit)."""
