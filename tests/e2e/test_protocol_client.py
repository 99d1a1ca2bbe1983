"""The load test's client of Streamlit's protocol (``bench/st_client.py``) drives a real session.

No browser: the client speaks ``/_stcore/stream`` as the frontend does. It opens the app on the
shared test server, presses a sample's Load button and must then be shown the sample's table
(its columns) and its name, with no error; so ``bench/bench_load_many.py`` measures what a
person would see. Marked ``e2e`` (it needs the live server the browser journeys share).
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _client():
    spec = importlib.util.spec_from_file_location("st_client", BENCH / "st_client.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("st_client", module)
    spec.loader.exec_module(module)
    return module


def test_protocol_client_opens_a_session_and_loads_a_sample(streamlit_server: str) -> None:
    client = _client()

    async def journey():
        session = client.AppSession(streamlit_server)
        try:
            first = await session.open(timeout=60)
            loaded = await session.click(first, "data_sample_iris", timeout=120)
            return session, first, loaded
        finally:
            await session.close()

    # its own thread: the browser journeys' Playwright keeps an event loop running in this one
    with ThreadPoolExecutor(max_workers=1) as pool:
        session, first, loaded = pool.submit(asyncio.run, journey()).result()
    assert "1. Data" in first.texts()
    assert {"data", "train", "results"} <= set(session.pages)
    columns = {name for element in loaded.elements for name in client.dataframe_columns(element)}
    assert {"species", "petal_length_cm"} <= columns
    headings = [e.heading.body.replace("\\", "") for e in loaded.elements if e.WhichOneof("type") == "heading"]
    assert "iris.csv" in headings  # the Data page's header names the loaded table (markdown-escaped on the wire)
    assert session.problems == []
