"""Zip archives built byte by byte for tests: bombs that are small on disk, headers that lie.

:func:`build_zip` writes members from raw parts (payload, method, CRC, declared size),
so a test can declare any size it likes. :func:`deflated_run` makes a deflate
stream of a long run of one byte in milliseconds: after a full flush, deflate
forgets what came before, so the same 1 MiB block compresses to the same bytes
and the stream is one compressed block repeated.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass

BLOCK = 1 << 20
STORED, DEFLATED = zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED


@dataclass
class Member:
    """One member as it will be written: ``payload`` goes in as is; the sizes and CRC are what the headers say."""

    name: str
    payload: bytes
    method: int
    crc: int
    size: int
    declared_packed: int | None = None  # the packed size the headers say, when not len(payload)
    flags: int = 0  # general purpose bits (1: encrypted)

    @property
    def packed(self) -> int:
        return len(self.payload) if self.declared_packed is None else self.declared_packed


def stored(name: str, content: bytes) -> Member:
    return Member(name, content, STORED, zlib.crc32(content), len(content))


def deflated(name: str, content: bytes, level: int = 6) -> Member:
    packer = zlib.compressobj(level, zlib.DEFLATED, -15)
    return Member(name, packer.compress(content) + packer.flush(), DEFLATED, zlib.crc32(content), len(content))


def deflated_run(name: str, size: int, byte: bytes = b"\0", prefix: bytes = b"", suffix: bytes = b"") -> Member:
    """``prefix`` + ``size`` times ``byte`` + ``suffix``, deflated (about 1,000 to 1) with an honest header."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts = [packer.compress(prefix) + packer.flush(zlib.Z_FULL_FLUSH)]
    crc = zlib.crc32(prefix)
    block = byte * BLOCK
    full, rest = divmod(size, BLOCK)
    if full:
        parts.append((packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)) * full)
        for _ in range(full):
            crc = zlib.crc32(block, crc)
    tail = byte * rest + suffix
    parts.append(packer.compress(tail) + packer.flush())
    crc = zlib.crc32(tail, crc)
    return Member(name, b"".join(parts), DEFLATED, crc, len(prefix) + size + len(suffix))


def repeated_chunks(name: str, chunk: bytes, times: int, head: bytes = b"", tail: bytes = b"") -> bytes:
    """A deflate stream of ``head`` + ``chunk`` * ``times`` + ``tail``, each chunk compressed alone (fast)."""
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    parts = [packer.compress(head) + packer.flush(zlib.Z_FULL_FLUSH)]
    one = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    parts.append(one * times)
    parts.append(packer.compress(tail) + packer.flush())
    return b"".join(parts)


def build_zip(members: list[Member], aliases: dict[str, str] | None = None) -> bytes:
    """A zip of ``members`` written from their raw parts (no data descriptors; zip64 only for the count).

    ``aliases`` adds directory entries that point at another member's data (``{"new name": "member"}``),
    the overlapping files of a non-recursive zip bomb.
    """
    out = io.BytesIO()
    central, offsets = [], {}
    for m in members:
        name = m.name.encode()
        offsets[m.name] = out.tell()
        out.write(
            struct.pack(
                "<4s5H3L2H", b"PK\x03\x04", 20, m.flags, m.method, 0, 0x21, m.crc, m.packed, m.size, len(name), 0
            )
        )
        out.write(name)
        out.write(m.payload)  # may be shorter than declared (a test's placeholder, or a lie)
        central.append(_central_entry(m, m.name, offsets[m.name]))
    for alias, target in (aliases or {}).items():
        m = next(m for m in members if m.name == target)
        central.append(_central_entry(m, alias, offsets[target]))
    start = out.tell()
    for entry in central:
        out.write(entry)
    size = out.tell() - start
    count = len(central)
    if count > 0xFFFF:  # zip64 end record and its locator, as zipfile writes them
        record = out.tell()
        out.write(struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, start))
        out.write(struct.pack("<4sLQL", b"PK\x06\x07", 0, record, 1))
        count = 0xFFFF
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, size, start, 0))
    return out.getvalue()


def _central_entry(m: Member, name: str, offset: int) -> bytes:
    raw = name.encode()
    fields = (20, 20, m.flags, m.method, 0, 0x21, m.crc, m.packed, m.size, len(raw), 0, 0, 0, 0, 0, offset)
    return struct.pack("<4s6H3L5H2L", b"PK\x01\x02", *fields) + raw


def members_of(data: bytes) -> list[Member]:
    """The members of an honest zip, as :class:`Member` s (payloads re-packed as they were)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        out = []
        for info in archive.infolist():
            content = archive.read(info)
            out.append(
                deflated(info.filename, content) if info.compress_type == DEFLATED else stored(info.filename, content)
            )
        return out


def replace(members: list[Member], *new: Member) -> list[Member]:
    """``members`` with those named like one of ``new`` replaced (in place in the order), the others appended."""
    by_name = {m.name: m for m in new}
    out = [by_name.pop(m.name, m) for m in members]
    return out + list(by_name.values())


def npy_header(shape: tuple[int, ...], dtype: str = "<f8") -> bytes:
    """The header of a ``.npy`` file holding an array of ``shape`` (the data follows it)."""
    import numpy as np

    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def zip_with_stored_run(outer_name: str, members: list[Member], name: str, chunk: bytes, times: int) -> Member:
    """A zip of ``members`` plus ``name`` (``chunk`` * ``times``, stored), itself deflated as member ``outer_name``.

    The inner zip is never held whole: deflate packs each repeated chunk alone.
    """
    crc = 0
    for _ in range(times):
        crc = zlib.crc32(chunk, crc)
    size = len(chunk) * times
    placeholder = Member(name, b"", STORED, crc, size, declared_packed=size)
    skeleton = build_zip([*members, placeholder])
    # the big member is last: its data starts right after its local header
    split = sum(30 + len(m.name.encode()) + len(m.payload) for m in members) + 30 + len(name.encode())
    head, tail = skeleton[:split], skeleton[split:]
    tail = _shift_central(tail, size)
    payload = repeated_chunks(outer_name, chunk, times, head, tail)
    whole_crc = zlib.crc32(tail, _crc_after(head, chunk, times))
    return Member(outer_name, payload, DEFLATED, whole_crc, len(head) + size + len(tail))


def _crc_after(head: bytes, chunk: bytes, times: int) -> int:
    crc = zlib.crc32(head)
    for _ in range(times):
        crc = zlib.crc32(chunk, crc)
    return crc


def _shift_central(tail: bytes, by: int) -> bytes:
    """The central directory after a member grew by ``by`` bytes: its start offset in the end record moves."""
    end = tail.rindex(b"PK\x05\x06")
    fields = list(struct.unpack_from("<4s4H2LH", tail, end))
    fields[6] += by
    return tail[:end] + struct.pack("<4s4H2LH", *fields) + tail[end + 22 :]
