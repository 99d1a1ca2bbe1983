"""A small client of Streamlit's own websocket protocol: one browser session without a browser.

It speaks to ``/_stcore/stream`` as Streamlit 1.67's frontend does (read from
``streamlit/web/server/starlette/starlette_websocket.py``, ``runtime/app_session.py``
and the frontend's ``sendRerunBackMsg``): binary protobuf ``BackMsg``s carrying a
``rerun_script`` ``ClientState`` (widget states, the current page's script hash, the
address's query string, a fragment id for a fragment's timer) and ``ForwardMsg``s back
(``new_session``, ``navigation`` with the app's pages, ``page_info_changed`` with the
query string, ``delta``s with elements, ``auto_rerun`` timers of ``st.fragment(run_every=…)``,
``script_finished``). The forward-message cache is not used (no ``cached_message_hashes``),
so every element arrives whole.

A run's messages arrive in order (one script thread per session), so the stream is cut
into *segments*: everything from one ``script_finished`` to the next. ``rerun`` sends a
request and returns once a whole-page run has finished (``st.rerun()`` chains included);
fragment runs and runs cut short for a rerun are kept but not awaited.

Used by ``bench/bench_load_many.py``; a test (``tests/e2e/test_protocol_client.py``) opens a session
with it. asyncio only: many sessions share one thread, so the client costs the server's
two cores little.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

STREAM_PATH = "/_stcore/stream"
#: Statuses of ``script_finished`` that end a whole-page run (the page has settled).
PAGE_DONE = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR)
#: How often a wait looks at the runs received (seconds).
POLL_S = 0.02


class ClientError(RuntimeError):
    """The session could not do what was asked (no such page or widget, timeout, dropped connection)."""


class WaitTimeout(ClientError):
    """No run that was waited for finished in time."""


@dataclass
class Segment:
    """The elements of one script run (a whole page, a fragment, or a run cut short for a rerun)."""

    elements: list[Element] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)  # expanders' labels (containers, not elements)
    status: int | None = None
    page_hash: str = ""
    finished_at: float = 0.0

    def texts(self) -> list[str]:
        """Every piece of text a person would read: headings, markdown, captions, alerts, progress, labels."""
        return [text for element in self.elements for text in element_texts(element)]

    def find(self, kind: str, predicate: Callable[[Any], bool] = lambda _: True) -> Any | None:
        """The first element of ``kind`` (an ``Element`` oneof name: "button", "selectbox"…) matching ``predicate``."""
        for element in self.elements:
            if element.WhichOneof("type") == kind and predicate(getattr(element, kind)):
                return getattr(element, kind)
        return None

    def has_text(self, pattern: str) -> bool:
        regex = re.compile(pattern)
        return any(regex.search(text) for text in self.texts())


def element_texts(element: Element) -> list[str]:
    """The text of one element (empty for charts and the like)."""
    kind = element.WhichOneof("type")
    if kind in ("markdown", "heading", "text"):
        return [getattr(element, kind).body]
    if kind == "alert":
        return [element.alert.body]
    if kind == "progress":
        return [element.progress.text]
    if kind == "exception":
        return [f"{element.exception.type}: {element.exception.message}"]
    if kind == "metric":
        return [element.metric.label, element.metric.body]
    if kind in ("button", "selectbox", "multiselect", "page_link", "checkbox", "radio", "text_input", "number_input"):
        return [getattr(element, kind).label]
    return []


def problems(element: Element) -> list[str]:
    """What a person would read as an error in ``element``: an exception or an ``st.error``."""
    kind = element.WhichOneof("type")
    if kind == "exception":
        return [f"exception {element.exception.type}: {element.exception.message}"]
    if kind == "alert" and element.alert.format == element.alert.ERROR:
        return [f"st.error: {element.alert.body}"]
    return []


def dataframe_columns(element: Element) -> list[str]:
    """The column names of a ``st.dataframe``/``st.table`` element (from its Arrow schema)."""
    kind = element.WhichOneof("type")
    if kind not in ("dataframe", "table"):
        return []
    data = getattr(element, kind).arrow_data.data
    if not data:
        return []
    import pyarrow as pa

    with contextlib.suppress(pa.ArrowInvalid):
        return list(pa.ipc.open_stream(data).schema.names)
    return []


def widget_options(element: Element) -> list[str]:
    """The options of a selectbox, multiselect or radio (column pickers show column names there)."""
    kind = element.WhichOneof("type")
    if kind in ("selectbox", "multiselect", "radio"):
        return list(getattr(element, kind).options)
    return []


class AppSession:
    """One session of a running Streamlit app, as a browser tab would hold it."""

    def __init__(self, base_url: str, *, on_problem: Callable[[str], None] | None = None) -> None:
        parts = urlsplit(base_url)
        self.ws_url = f"ws://{parts.netloc}{parts.path.rstrip('/')}{STREAM_PATH}"
        self.pages: dict[str, str] = {}  # url path ("train"…; "" and "data" for the default page) → script hash
        self.page_hash = ""
        self.query_string = ""
        self.widgets: dict[str, WidgetState] = {}  # values this session set (a browser sends them every run)
        self.segments: list[Segment] = []  # finished runs, oldest first
        self.problems: list[str] = []  # exceptions, st.error texts, a dropped connection
        self._current = Segment()
        self._timers: dict[str, asyncio.Task] = {}  # fragment id → its auto-rerun task
        self._intervals: dict[str, float] = {}  # fragment id → its timer's interval (seconds)
        self._ws: Any = None
        self._reader: asyncio.Task | None = None
        self.sent_at = 0.0  # when the last whole-page rerun was sent (time.perf_counter)
        self._closing = False
        self._on_problem = on_problem

    # ------------------------------------------------------------------ connection

    async def open(self, timeout: float = 60.0) -> Segment:
        """Connect and run the first page, as a browser does when the address is opened."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import WebSocketException

        # Sec-WebSocket-Protocol: "streamlit", then the XSRF token (none), then a session to resume (none).
        # No keep-alive pings (a browser sends none): a busy server answering late is not a dropped connection.
        try:
            self._ws = await connect(
                self.ws_url,
                subprotocols=["streamlit"],  # type: ignore[list-item]
                max_size=None,
                open_timeout=timeout,
                ping_interval=None,
            )
        except (OSError, TimeoutError, WebSocketException) as exc:
            raise ClientError(f"could not connect to {self.ws_url}: {exc}") from exc
        self._reader = asyncio.create_task(self._read())
        return await self.rerun(timeout=timeout)

    async def close(self) -> None:
        """Close the tab: the server's session disconnects (and ends after the app's grace period)."""
        self._closing = True
        for fragment_id in list(self._timers):
            self._stop_timer(fragment_id)
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._reader, 10)

    async def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for data in self._ws:
                msg = ForwardMsg()
                msg.ParseFromString(data)
                await self._handle(msg)
            if not self._closing:
                self._problem("connection closed by the server")
        except ConnectionClosed as exc:
            if not self._closing:
                self._problem(f"connection dropped: {exc}")
        except Exception as exc:  # a message this client cannot read is the bench's failure, said once
            self._problem(f"client could not read a message: {exc!r}")

    def _problem(self, text: str) -> None:
        self.problems.append(text)
        if self._on_problem is not None:
            self._on_problem(text)

    async def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self.page_hash = msg.new_session.page_script_hash
            self._current.page_hash = self.page_hash
            if not msg.metadata.run.fragment_ids:  # a whole-page run: it sends its fragments' timers afresh
                for fragment_id in list(self._timers):
                    self._stop_timer(fragment_id)
        elif kind == "navigation":
            self._pages(msg.navigation.app_pages)
            if msg.navigation.page_script_hash:
                self.page_hash = msg.navigation.page_script_hash
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "page_not_found":
            self._problem(f"page not found: {msg.page_not_found.page_name}")
        elif kind == "session_event" and msg.session_event.HasField("script_compilation_exception"):
            self._problem(f"script compilation error: {msg.session_event.script_compilation_exception.message}")
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            self._current.elements.append(element)
            for text in problems(element):
                self._problem(text)
        elif kind == "delta" and msg.delta.add_block.WhichOneof("type") == "expandable":
            self._current.labels.append(msg.delta.add_block.expandable.label)
        elif kind == "auto_rerun":
            self._start_timer(msg.auto_rerun.fragment_id, msg.auto_rerun.interval)
        elif kind == "stop_auto_rerun":
            for fragment_id in msg.stop_auto_rerun.fragment_ids:
                self._stop_timer(fragment_id)
        elif kind == "script_finished":
            segment, self._current = self._current, Segment(page_hash=self.page_hash)
            segment.status = msg.script_finished
            segment.finished_at = time.perf_counter()
            self.segments.append(segment)

    def _pages(self, app_pages: Iterable[Any]) -> None:
        """The pages of ``st.navigation``: by their address ("train"), the default one also by its name ("data")."""
        for page in app_pages:
            if not page.page_script_hash:
                continue
            self.pages[page.url_pathname] = page.page_script_hash
            self.pages.setdefault(page.page_name.lower(), page.page_script_hash)

    # ------------------------------------------------------------------ fragments' timers

    def _start_timer(self, fragment_id: str, interval: float) -> None:
        if not fragment_id or self._intervals.get(fragment_id) == interval:  # the same timer goes on ticking
            return
        self._stop_timer(fragment_id)
        self._timers[fragment_id] = asyncio.create_task(self._tick(fragment_id, interval))
        self._intervals[fragment_id] = interval

    def _stop_timer(self, fragment_id: str) -> None:
        self._intervals.pop(fragment_id, None)
        task = self._timers.pop(fragment_id, None)
        if task is not None:
            task.cancel()

    async def _tick(self, fragment_id: str, interval: float) -> None:
        """What the frontend's ``setInterval`` does: rerun the fragment every ``interval`` seconds.

        As in the frontend, every timer is dropped when a whole-page run starts (``new_session``
        without fragment ids) or the page changes; the run then sends the timers it still wants.
        """
        while True:
            await asyncio.sleep(interval)
            try:
                await self._send(fragment_id=fragment_id, is_auto_rerun=True)
            except ClientError:
                return  # the connection is gone: the reader has said so

    # ------------------------------------------------------------------ requests

    async def _send(self, *, triggers: dict[str, WidgetState] | None = None, **client_state: Any) -> None:
        if self._ws is None or self._closing:
            return
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query_string
        state.page_script_hash = client_state.pop("page_script_hash", self.page_hash)
        for name, value in client_state.items():
            setattr(state, name, value)
        for widget in {**self.widgets, **(triggers or {})}.values():
            state.widget_states.widgets.append(widget)
        state.context_info.timezone = "UTC"
        state.context_info.locale = "en-US"
        from websockets.exceptions import ConnectionClosed

        try:
            await self._ws.send(msg.SerializeToString())
        except ConnectionClosed as exc:
            raise ClientError(f"the connection is closed: {exc}") from exc

    async def rerun(
        self,
        *,
        triggers: dict[str, WidgetState] | None = None,
        page_script_hash: str | None = None,
        timeout: float = 60.0,
    ) -> Segment:
        """Send a whole-page rerun and wait until a whole-page run has finished; that run's elements.

        Runs ended by ``st.rerun()`` on the way are skipped (the page settles at the last one).
        """
        seen = len(self.segments)
        fields = {} if page_script_hash is None else {"page_script_hash": page_script_hash}
        self.sent_at = time.perf_counter()
        await self._send(triggers=triggers, **fields)
        return await self.wait_for(lambda s: s.status in PAGE_DONE, timeout=timeout, after=seen)

    async def wait_for(
        self, predicate: Callable[[Segment], bool], *, timeout: float, after: int | None = None
    ) -> Segment:
        """The first finished run (from index ``after``; default: from now) that ``predicate`` accepts.

        Looks every :data:`POLL_S` seconds (the runs' own ``finished_at`` is exact, so timings are not rounded).
        """
        index = len(self.segments) if after is None else after
        deadline = time.monotonic() + timeout
        while True:
            while index < len(self.segments):
                segment = self.segments[index]
                index += 1
                if predicate(segment):
                    return segment
            if self._reader is None or self._reader.done():
                raise ClientError("the connection is closed")
            if time.monotonic() >= deadline:
                raise WaitTimeout(f"timed out after {timeout:g} s")
            await asyncio.sleep(POLL_S)

    # ------------------------------------------------------------------ what a person does

    def widget_id(self, segment: Segment, kind: str, key: str) -> str:
        """The id of the widget of ``kind`` with the user key ``key`` drawn in ``segment``."""
        found = segment.find(kind, lambda w: w.id.endswith(f"-{key}"))
        if found is None:
            raise ClientError(f"no {kind} with key {key!r} on the page")
        return str(found.id)

    async def click(self, segment: Segment, key: str, timeout: float = 60.0) -> Segment:
        """Press the button ``key`` drawn in ``segment``; the page's run after it."""
        trigger = WidgetState(id=self.widget_id(segment, "button", key), trigger_value=True)
        return await self.rerun(triggers={trigger.id: trigger}, timeout=timeout)

    async def select(self, segment: Segment, key: str, option: str, timeout: float = 60.0) -> Segment:
        """Choose ``option`` (as shown) in the selectbox ``key`` drawn in ``segment``; the page's run after it."""
        box = segment.find("selectbox", lambda w: w.id.endswith(f"-{key}"))
        if box is None:
            raise ClientError(f"no selectbox with key {key!r} on the page")
        if option not in box.options:
            raise ClientError(f"{option!r} is not among the options of {key!r}: {list(box.options)}")
        self.widgets[box.id] = WidgetState(id=box.id, string_value=option)
        return await self.rerun(timeout=timeout)

    async def switch_page(self, url_path: str, timeout: float = 60.0) -> Segment:
        """Open another page of the app (its sidebar link); its first run."""
        if url_path not in self.pages:
            raise ClientError(f"no page {url_path!r}; the app has {sorted(self.pages)}")
        for fragment_id in list(self._timers):  # the frontend drops every fragment timer on a page change
            self._stop_timer(fragment_id)
        return await self.rerun(page_script_hash=self.pages[url_path], timeout=timeout)
