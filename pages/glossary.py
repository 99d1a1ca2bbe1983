"""Glossary: every term the app uses, searchable; links ``glossary?term=<slug>`` open one entry.

Always open (a page beside the journey). A help text or guided-mode note links here with
``[words](glossary?term=<slug>)`` (``core.teaching.glossary.term_link``): the link opens this page
in a new tab with the term searched for and its entry open.
"""

import streamlit as st

from core.charts.glossary import activation_plot
from core.teaching import glossary
from ui import charts_view
from ui.text import md_code

st.title("Glossary")
st.caption("The words the app uses, explained: what they mean, how they are computed, when they mislead.")

linked = st.query_params.get(glossary.QUERY_PARAM, "")
linked_term = glossary.term(linked) if linked else None
query = st.text_input(
    "Search the glossary",
    value=linked_term.name if linked_term else linked,
    key="glossary_search",
    placeholder="e.g. overfitting, learning rate, ROC-AUC",
    icon=":material/search:",
)
found = glossary.search(query)

if linked and linked_term is None:
    st.info(f"The glossary has no entry called {md_code(linked)}; the search below looks for the words instead.")
if not found:
    st.info(
        f"No term matches {md_code(query)}. Try a shorter word or another spelling, or clear the search to see "
        "every term.",
        icon=":material/search_off:",
    )
elif query.strip():
    st.caption(f"{len(found)} of {len(glossary.terms())} terms match, best first.")

group = None
for item in found:
    if not query.strip() and item.group != group:
        group = item.group
        st.subheader(group, anchor=False)
    with st.expander(item.name, expanded=linked_term is not None and item.slug == linked_term.slug):
        st.markdown(item.markdown())

st.header("Activation functions", anchor=False)
st.caption(
    "What a network layer applies to each unit's weighted sum. Hidden layers use the ones on the Models "
    "page's layer table; the output layer's comes from the task (sigmoid, softmax or linear)."
)
st.markdown(glossary.activation_markdown())
rows = glossary.activation_table()
for start in range(0, len(rows), 3):
    for col, row in zip(st.columns(3), rows[start : start + 3], strict=False):
        charts_view.show(
            activation_plot(row["key"]), key=f"glossary_plot_{row['key']}", where=col, config={"displayModeBar": False}
        )
