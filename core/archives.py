"""Zip archives read safely: counts, sizes and ratios checked before anything inside is parsed.

A zip can say little and unpack a lot (a zip bomb), hold archives inside
archives, lie in its headers, or point many entries at one stored stream so it
is unpacked again and again. :class:`SafeZip` opens a zip held in memory only
after checking its file table against :class:`ArchiveLimits`, then reads members
streaming, chunk by chunk, with a hard cap on the bytes actually produced, so a
header that lies cannot get more past it than it declared. One :class:`Budget`
is shared by an archive and every archive nested in it: the total unpacked at
all levels is limited, and so is its ratio to the outer file's size.

HDF5 files (a Keras network's weights) are containers too: their datasets can
be compressed or left unallocated, so :func:`check_hdf5` weighs what reading
them would take before anyone reads them.

Nothing here knows what a model bundle is; :mod:`core.export` chooses the
limits and the members it expects.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from core.errors import DashboardError

#: Members whose whole text is parsed at once (JSON, Markdown): parsing multiplies their size in
#: memory (3x for a skops schema, up to 20x for crafted JSON), so they get a smaller cap.
TEXT_SUFFIXES = (".json", ".md", ".txt")
#: Bytes handed over at a time when a member is unpacked.
CHUNK = 1 << 20
#: Compression methods honest archives use (a skops file stores, a bundle and a .npz deflate).
#: bzip2 and LZMA are refused: bzip2 reaches far higher ratios, LZMA's header chooses its own memory.
METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
#: The start of a zip (a local file header, or the end record of an empty zip).
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")

_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")  # one central directory entry, without its name/extra/comment
_LOCAL = struct.Struct("<4s2B4HL2L2H")  # one local file header, without its name/extra
_CENTRAL_SIG, _LOCAL_SIG = b"PK\x01\x02", b"PK\x03\x04"


class ArchiveError(DashboardError):
    """An archive refused before its contents were parsed (too big, too many files, a bomb, damaged)."""


@dataclass(frozen=True)
class ArchiveLimits:
    """What an archive, and every archive nested in it, may hold.

    Attributes:
        kind: what the archive is, for messages ("a model bundle").
        max_archive_bytes: the outer file, as received.
        max_members: files in any one archive (zip or HDF5).
        max_member_bytes: one file, unpacked.
        max_text_bytes: one JSON or Markdown file, unpacked (see :data:`TEXT_SUFFIXES`).
        max_total_bytes: everything unpacked, at every level of nesting together.
        max_ratio: unpacked / packed size, for one file and for the whole (everything unpacked
            at every level against the outer file's size). Judged only above ``ratio_floor``.
        ratio_floor: bytes below which a ratio says nothing (a small JSON of repeated keys).
        max_depth: archives inside archives, counting the outer one.
    """

    kind: str
    max_archive_bytes: int
    max_members: int
    max_member_bytes: int
    max_text_bytes: int
    max_total_bytes: int
    max_ratio: float
    ratio_floor: int
    max_depth: int

    def member_cap(self, name: str) -> int:
        """The most ``name`` may unpack to."""
        return self.max_text_bytes if name.lower().endswith(TEXT_SUFFIXES) else self.max_member_bytes

    def cap_words(self, name: str) -> str:
        """Which limit :meth:`member_cap` applied, in words."""
        if name.lower().endswith(TEXT_SUFFIXES):
            return f"the limit for a text file such as a model card in {self.kind}"
        return f"the limit for one file in {self.kind}"


def size_words(n: float) -> str:
    """Bytes for people, in decimal units: ``1 GB``, ``1.2 GB``, ``250 MB``, ``12 kB``, ``300 bytes``."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{int(n)} bytes"


def _shown(name: str) -> str:
    text = repr(name)
    return text if len(text) <= 60 else text[:59] + "…"


class Budget:
    """What an archive and the archives nested in it may still unpack, all levels together.

    The limit is ``max_total_bytes``, or ``max_ratio`` times the outer file's size
    (never below ``ratio_floor``) when that is smaller: a small file that unpacks to
    hundreds of times its size is a bomb however the bytes are spread over levels.
    """

    def __init__(self, limits: ArchiveLimits, packed: int, what: str) -> None:
        self.limits = limits
        self.what = what
        by_ratio = max(limits.ratio_floor, int(limits.max_ratio * packed))
        self.limit = min(limits.max_total_bytes, by_ratio)
        self._why = (
            f"the limit for {limits.kind} is {size_words(limits.max_total_bytes)}"
            if self.limit == limits.max_total_bytes
            else f"{limits.max_ratio:g} times its size of {size_words(packed)}, the limit for {limits.kind}"
        )
        self.used = 0

    def check(self, more: int) -> None:
        """Refuse if ``more`` bytes would not fit (nothing is charged)."""
        if self.used + more > self.limit:
            raise ArchiveError(
                f"{self.what} would unpack to more than {size_words(self.limit)} in all, counting the archives "
                f"inside it ({self._why})."
            )

    def charge(self, n: int) -> None:
        """Account ``n`` bytes actually unpacked; refuse once over the limit."""
        self.check(n)
        self.used += n


class SafeZip:
    """A zip held in memory, opened only after its file table passed the limits.

    Args:
        data: the archive's bytes.
        what: the archive in words, starting a sentence ("The bundle", "The bundle's model file (pipeline.skops)").
        limits: the limits of the outermost archive.
        budget: the budget shared with the archive this one is nested in (a new one for an outer archive).
        depth: 1 for an outer archive; :meth:`nested` counts up.

    Raises:
        ArchiveError: the archive is too big, holds too many or too large files, unpacks far more than its size,
            nests too deep, uses an unusual compression or encryption, or its file table does not match its contents.
    """

    def __init__(
        self,
        data: bytes,
        what: str,
        limits: ArchiveLimits,
        *,
        budget: Budget | None = None,
        depth: int = 1,
    ) -> None:
        self.what, self.limits, self.depth, self.data = what, limits, depth, data
        if depth > limits.max_depth:
            raise ArchiveError(
                f"{what} is an archive nested {depth} deep; {limits.kind} never nests more than {limits.max_depth} deep."
            )
        if len(data) > limits.max_archive_bytes:
            raise ArchiveError(
                f"{what} is {size_words(len(data))}, more than {size_words(limits.max_archive_bytes)} "
                f"(the limit for {limits.kind})."
            )
        self.budget = budget if budget is not None else Budget(limits, len(data), what)
        start = self._check_directory(data)
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
            raise ArchiveError(f"{what} is damaged and could not be read ({exc}).") from None
        self.infos: dict[str, zipfile.ZipInfo] = {}
        for info in self._zip.infolist():
            if info.filename in self.infos:
                raise ArchiveError(f"{what} holds two files named {_shown(info.filename)}; a real one never does.")
            self.infos[info.filename] = info
        self._check_layout(data, start)
        for info in self.infos.values():
            self._check_declared(info)
        self.budget.check(sum(info.file_size for info in self.infos.values()))

    # ------------------------------------------------------------------ the file table

    def _check_directory(self, data: bytes) -> int:
        """Count the entries of the central directory before :mod:`zipfile` builds one object per entry.

        Returns where the central directory starts (every member's data lies before it).
        """
        pos = len(data) - _EOCD.size  # no archive comment, as this app writes them
        if pos < 0 or data[pos : pos + 4] != b"PK\x05\x06" or data[-2:] != b"\0\0":
            pos = data.rfind(b"PK\x05\x06", max(0, len(data) - _EOCD.size - 0xFFFF))
        if pos < 0 or pos + _EOCD.size > len(data) or pos + _EOCD.size + _EOCD.unpack_from(data, pos)[-1] != len(data):
            raise ArchiveError(f"{self.what} is not a zip archive, or it is damaged.")
        _, _, _, _, entries, size, offset, _ = _EOCD.unpack_from(data, pos)
        record = pos
        if entries == 0xFFFF or size == 0xFFFFFFFF or offset == 0xFFFFFFFF:
            locator = pos - _EOCD64_LOCATOR.size
            if locator < 0 or data[locator : locator + 4] != b"PK\x06\x07":
                raise ArchiveError(f"{self.what} is damaged (its zip64 end record is missing).")
            record = _EOCD64_LOCATOR.unpack_from(data, locator)[2]
            if record < 0 or record + _EOCD64.size > locator or data[record : record + 4] != b"PK\x06\x06":
                raise ArchiveError(f"{self.what} is damaged (its zip64 end record is out of place).")
            size, offset = _EOCD64.unpack_from(data, record)[8:10]
        start = record - size
        if start != offset or start < 0:
            raise ArchiveError(
                f"{self.what} is damaged or crafted: its file table is not where its end record says "
                "(data was added before or inside the archive)."
            )
        count, at = 0, start
        while at < record:
            if data[at : at + 4] != _CENTRAL_SIG or at + _CENTRAL.size > record:
                raise ArchiveError(f"{self.what} is damaged (its file table is broken).")
            fields = _CENTRAL.unpack_from(data, at)
            at += _CENTRAL.size + fields[12] + fields[13] + fields[14]
            count += 1
            if count > self.limits.max_members:
                raise ArchiveError(
                    f"{self.what} holds more than {self.limits.max_members:,} files "
                    f"(the limit for one archive in {self.limits.kind})."
                )
        return start

    def _check_layout(self, data: bytes, start: int) -> None:
        """Every member's data lies inside the archive, before the file table, and overlaps no other member."""
        infos = sorted(self.infos.values(), key=lambda i: i.header_offset)
        for number, info in enumerate(infos):
            at = info.header_offset
            if at < 0 or at + _LOCAL.size > start or data[at : at + 4] != _LOCAL_SIG:
                raise ArchiveError(f"{self.what} is damaged: {_shown(info.filename)} has no header where it should.")
            fields = _LOCAL.unpack_from(data, at)
            data_end = at + _LOCAL.size + fields[10] + fields[11] + info.compress_size
            following = infos[number + 1].header_offset if number + 1 < len(infos) else start
            if data_end > following:
                raise ArchiveError(
                    f"{self.what} is damaged or crafted: {_shown(info.filename)} runs into the next file "
                    "(overlapping files unpack the same bytes many times)."
                )

    def _check_declared(self, info: zipfile.ZipInfo) -> None:
        what, limits, name = self.what, self.limits, info.filename
        if info.flag_bits & 0x1:
            raise ArchiveError(f"{what} holds an encrypted file ({_shown(name)}); {limits.kind} never does.")
        if info.compress_type not in METHODS:
            raise ArchiveError(
                f"{what} packs {_shown(name)} with a compression method this app does not read "
                f"(number {info.compress_type}); only {' and '.join(METHODS.values())} are used."
            )
        if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
            raise ArchiveError(f"{what} is damaged or crafted: the sizes of {_shown(name)} do not agree.")
        cap = limits.member_cap(name)
        if info.file_size > cap:
            raise ArchiveError(
                f"{what} would unpack {_shown(name)} to {size_words(info.file_size)}, more than "
                f"{size_words(cap)} ({limits.cap_words(name)})."
            )
        self._check_ratio(name, info.file_size, info.compress_size)

    def _check_ratio(self, name: str, unpacked: int, packed: int) -> None:
        limits = self.limits
        if unpacked > limits.ratio_floor and unpacked > limits.max_ratio * max(packed, 1):
            raise ArchiveError(
                f"{self.what} would unpack {_shown(name)} to {unpacked / max(packed, 1):,.0f} times its packed size "
                f"({size_words(packed)} to {size_words(unpacked)}); files in {limits.kind} unpack to at most "
                f"{limits.max_ratio:g} times theirs. This is how a zip bomb looks."
            )

    # ------------------------------------------------------------------ members

    @property
    def names(self) -> list[str]:
        """Member names, in the archive's order."""
        return list(self.infos)

    def __contains__(self, name: str) -> bool:
        return name in self.infos

    def read(self, name: str) -> bytes:
        """The member's bytes, unpacked streaming under its cap and charged to the budget."""
        buffer = io.BytesIO()
        self._stream(self.infos[name], buffer.write)
        return buffer.getvalue()  # shares the buffer: no second copy

    def check(self, name: str) -> None:
        """Unpack the member streaming without keeping it; a member that is itself a zip is checked as one."""
        buffer: io.BytesIO | None = None
        first = True

        def sink(chunk: bytes) -> None:
            nonlocal buffer, first
            if first:
                first = False
                if chunk[:4] in ZIP_MAGIC:  # an archive inside (loaders open zips whatever their name): keep it
                    self._reserve_nested(info, len(chunk))
                    buffer = io.BytesIO()
            if buffer is not None:
                buffer.write(chunk)

        info = self.infos[name]
        self._stream(info, sink)
        if buffer is not None:
            inside = self.what[:1].lower() + self.what[1:]
            self.nested(buffer.getvalue(), f"The archive {_shown(name)} inside {inside}").check_all()

    def check_all(self) -> None:
        """:meth:`check` every member, at every level of nesting."""
        for name in self.infos:
            self.check(name)

    def open_nested(self, name: str, what: str) -> SafeZip:
        """The member ``name``, an archive itself, read and opened one level deeper (its bytes are ``.data``)."""
        self._reserve_nested(self.infos[name], 0)
        return self.nested(self.read(name), what)

    def nested(self, data: bytes, what: str) -> SafeZip:
        """The archive ``data`` (read from this one) opened with the same limits and budget, one level deeper."""
        return SafeZip(data, what, self.limits, budget=self.budget, depth=self.depth + 1)

    def _reserve_nested(self, info: zipfile.ZipInfo, charged: int) -> None:
        # An archive inside an archive is counted twice before it is read: its own bytes and at least as many
        # unpacked from it (an honest skops or .keras file stores its members: they add up to its size). So a
        # small bundle cannot make the loader hold a large nested archive only to refuse it afterwards.
        self.budget.check(2 * info.file_size - charged)

    def _stream(self, info: zipfile.ZipInfo, sink: Callable[[bytes], object]) -> None:
        name, got = info.filename, 0
        try:
            with self._zip.open(info) as member:
                while chunk := member.read(CHUNK):
                    got += len(chunk)
                    if got > info.file_size:  # zipfile stops at the declared size; this does not rely on it
                        raise ArchiveError(
                            f"{self.what} is damaged or crafted: {_shown(name)} unpacks to more than it declares."
                        )
                    self.budget.charge(len(chunk))
                    self._check_ratio(name, got, info.compress_size)
                    sink(chunk)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError, NotImplementedError) as exc:
            raise ArchiveError(
                f"{self.what} is damaged or crafted: {_shown(name)} does not match its header ({exc})."
            ) from None
        if got != info.file_size:
            raise ArchiveError(f"{self.what} is damaged or crafted: {_shown(name)} is shorter than it declares.")


# --------------------------------------------------------------------------- HDF5


def check_hdf5(data: bytes, what: str, limits: ArchiveLimits, budget: Budget) -> None:
    """Weigh an HDF5 file's datasets before anything reads them, charging their size to ``budget``.

    Reading a dataset takes its declared shape times its item size, whatever the file
    stores: a compressed or never-written dataset can be tiny on disk. Links to other
    files, soft links and datasets stored outside the file are refused (an honest
    Keras weights file has none), so every byte read comes from ``data`` and is counted once.

    Raises:
        ArchiveError: the file is not HDF5, holds too many objects, a dataset would be
            too large or unpack far beyond what it stores, or it points outside itself.
    """
    import h5py

    try:
        with h5py.File(io.BytesIO(data), "r") as handle:
            links: list[tuple[str, object]] = []

            # h5py mangles exceptions raised inside the visitor: collect, stop early by returning a value
            def visit(name: str, link: object) -> bool:
                links.append((name, link))
                return len(links) > limits.max_members

            handle.visititems_links(visit)
            if len(links) > limits.max_members:
                raise ArchiveError(
                    f"{what} holds more than {limits.max_members:,} objects "
                    f"(the limit for one archive in {limits.kind})."
                )
            for name, link in links:
                if not isinstance(link, h5py.HardLink):
                    raise ArchiveError(
                        f"{what} links {_shown(name)} elsewhere ({type(link).__name__}); a real one never does."
                    )
                node = handle[name]
                if isinstance(node, h5py.Dataset):
                    _weigh_dataset(node, name, what, limits, budget)
    except ArchiveError:
        raise
    except Exception as exc:  # h5py raises OSError, KeyError, ValueError… for damaged files
        raise ArchiveError(f"{what} is not a readable HDF5 file ({type(exc).__name__}: {exc}).") from None


def _weigh_dataset(node, name: str, what: str, limits: ArchiveLimits, budget: Budget) -> None:
    if node.external or node.is_virtual:
        raise ArchiveError(f"{what} keeps {_shown(name)} outside the file; a real one never does.")
    declared = int(node.size or 0) * node.dtype.itemsize
    stored = node.id.get_storage_size()
    if declared > limits.max_member_bytes:
        raise ArchiveError(
            f"{what} would unpack {_shown(name)} to {size_words(declared)}, more than "
            f"{size_words(limits.max_member_bytes)} (the limit for one file in {limits.kind})."
        )
    if declared > limits.ratio_floor and declared > limits.max_ratio * max(stored, 1):
        raise ArchiveError(
            f"{what} would unpack {_shown(name)} to {declared / max(stored, 1):,.0f} times what it stores "
            f"({size_words(stored)} to {size_words(declared)}); at most {limits.max_ratio:g} times is allowed "
            f"in {limits.kind}. This is how a compression bomb looks."
        )
    budget.charge(declared)
