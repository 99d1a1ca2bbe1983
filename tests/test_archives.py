"""core.archives: zips opened from bytes only after their file table passes the limits, members read with a cap."""

from __future__ import annotations

import dataclasses
import io
import random
import tracemalloc
import zipfile

import pytest

from core.archives import ArchiveError, ArchiveLimits, Budget, SafeZip, check_hdf5, size_words
from tests.zip_helpers import DEFLATED, Member, build_zip, deflated, deflated_run, stored

SMALL = ArchiveLimits(
    kind="a test archive",
    max_archive_bytes=10_000_000,
    max_members=10,
    max_member_bytes=1_000_000,
    max_text_bytes=100_000,
    max_total_bytes=3_000_000,
    max_ratio=50,
    ratio_floor=100_000,
    max_depth=3,
)


def zipped(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip as zipfile writes it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def opened(data: bytes, limits: ArchiveLimits = SMALL) -> SafeZip:
    return SafeZip(data, "The archive", limits)


def test_an_honest_archive_reads_back_exactly_and_every_level_is_charged():
    array = random.Random(0).randbytes(300_000)
    inner = zipped({"a.npy": array, "schema.json": b'{"x": 1}'}, zipfile.ZIP_STORED)
    data = zipped({"card.json": b"{}", "model.skops": inner, "rows.bin": bytes(range(256)) * 100})
    archive = opened(data)
    assert archive.names == ["card.json", "model.skops", "rows.bin"] and "model.skops" in archive
    assert archive.read("card.json") == b"{}"
    nested = archive.open_nested("model.skops", "The model file")
    assert nested.data == inner and nested.read("a.npy") == array
    archive.check("rows.bin")
    assert archive.budget.used == 2 + len(inner) + 300_000 + 25_600


def test_members_that_are_zips_are_checked_as_archives_whatever_their_name():
    bomb = zipped({"zeros.npy": bytes(2_000_000)})  # packs about 1,000 to 1
    data = zipped({"schema.json": b"{}", "1234.npy": bomb}, zipfile.ZIP_STORED)
    with pytest.raises(ArchiveError, match=r"The archive '1234\.npy' inside the archive would unpack 'zeros\.npy'"):
        opened(data).check_all()


def test_too_many_files_are_refused_before_zipfile_lists_them():
    data = build_zip([stored(f"{n}.npy", b"") for n in range(11)])
    with pytest.raises(ArchiveError, match=r"holds more than 10 files \(the limit for one archive in a test archive\)"):
        opened(data)
    many = build_zip([stored(f"{n}", b"") for n in range(70_000)])  # a zip64 end record
    with pytest.raises(ArchiveError, match="more than 10 files"):
        opened(many)
    assert len(opened(many, dataclasses.replace(SMALL, max_members=70_000)).names) == 70_000


def test_declared_sizes_are_judged_before_anything_is_unpacked():
    # the payloads are garbage: only the headers are read, or the refusal would be "damaged"
    big = Member("model.bin", b"\x01" * 30_000, DEFLATED, 0, 1_000_001)
    with pytest.raises(
        ArchiveError, match=r"would unpack 'model\.bin' to 1 MB, more than 1 MB \(the limit for one file"
    ):
        opened(build_zip([big]))
    text = Member("card.json", b"\x01" * 30_000, DEFLATED, 0, 100_001)
    with pytest.raises(ArchiveError, match=r"'card\.json' to 100 kB, more than 100 kB \(the limit for a text file"):
        opened(build_zip([text]))
    several = [Member(f"{n}.bin", b"\x01" * 30_000, DEFLATED, 0, 900_000) for n in range(4)]
    with pytest.raises(ArchiveError, match=r"more than 3 MB in all, .*the limit for a test archive is 3 MB"):
        opened(build_zip(several))


def test_a_member_packed_tighter_than_the_limit_is_a_bomb_unless_it_is_small():
    with pytest.raises(ArchiveError, match=r"'zeros\.npy' to [\d,]+ times its packed size .* at most 50 times"):
        opened(build_zip([deflated("zeros.npy", bytes(500_000))]))
    small = opened(build_zip([deflated("zeros.npy", bytes(90_000))]))
    assert small.read("zeros.npy") == bytes(90_000)


def test_the_budget_of_a_small_file_follows_its_size():
    assert Budget(SMALL, 1_000, "x").limit == SMALL.ratio_floor
    assert Budget(SMALL, 20_000, "x").limit == 1_000_000
    assert Budget(SMALL, 1_000_000, "x").limit == SMALL.max_total_bytes
    budget = Budget(SMALL, 20_000, "The archive")
    budget.charge(600_000)
    with pytest.raises(ArchiveError, match=r"more than 1 MB in all.*\(50 times its size of 20 kB, the limit"):
        budget.charge(400_001)


def test_a_header_that_lies_lets_no_more_through_than_it_declares_and_memory_stays_flat():
    lying = deflated_run("card.json", 50_000_000, b" ", prefix=b"{}")  # 50 MB behind a 10 kB header
    lying.size = 10_000
    archive = opened(build_zip([lying]))
    tracemalloc.start()
    try:
        with pytest.raises(ArchiveError, match=r"'card\.json' does not match its header"):
            archive.read("card.json")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000, peak
    short = deflated("card.json", b"{}" * 1000)
    short.size = 4_000
    with pytest.raises(ArchiveError, match=r"'card\.json' (is shorter than it declares|does not match its header)"):
        opened(build_zip([short])).read("card.json")


def test_the_budget_is_shared_by_every_level_as_the_members_stream():
    one = zipped({"a.bin": bytes(range(256)) * 3_500}, zipfile.ZIP_STORED)  # 896 kB, stored, inside 900 kB
    data = zipped({"one.zip": one, "two.zip": one}, zipfile.ZIP_STORED)
    archive = opened(data)
    archive.check("one.zip")
    assert archive.budget.used == len(one) + 896_000
    with pytest.raises(ArchiveError, match=r"more than 3 MB in all, counting the archives inside it"):
        archive.check("two.zip")


def test_overlapping_files_are_refused():
    # a non-recursive zip bomb: many directory entries unpack one stored stream
    payload = deflated("a.bin", bytes(range(256)) * 100)
    with pytest.raises(ArchiveError, match=r"runs into the next file"):
        opened(build_zip([payload], aliases={"b.bin": "a.bin", "c.bin": "a.bin"}))


def test_odd_archives_are_refused():
    with pytest.raises(ArchiveError, match=r"two files named 'a\.json'"):
        opened(build_zip([stored("a.json", b"{}"), stored("a.json", b"[]")]))
    with pytest.raises(ArchiveError, match=r"compression method this app does not read \(number 12\)"):
        opened(zipped({"a.bin": b"x" * 1000}, zipfile.ZIP_BZIP2))
    encrypted = stored("a.bin", b"x")
    encrypted.flags = 1
    with pytest.raises(ArchiveError, match="encrypted"):
        opened(build_zip([encrypted]))
    with pytest.raises(ArchiveError, match="added before or inside"):
        opened(b"#!/bin/sh\n" + zipped({"a.bin": b"x"}))
    with pytest.raises(ArchiveError, match="not a zip archive"):
        opened(b"not a zip at all")
    with pytest.raises(ArchiveError, match=r"is 1.2 MB, more than 1 MB \(the limit for a test archive\)"):
        opened(bytes(1_200_000), dataclasses.replace(SMALL, max_archive_bytes=1_000_000))
    deep = zipped({"a.bin": b"x"})
    for level in range(3):
        deep = zipped({f"level{level}.zip": deep})
    with pytest.raises(ArchiveError, match="nested 4 deep; a test archive never nests more than 3 deep"):
        opened(deep).check_all()
    commented = io.BytesIO()
    with zipfile.ZipFile(commented, "w") as archive:
        archive.comment = b"written with a comment"
        archive.writestr("a.bin", b"x")
    assert opened(commented.getvalue()).read("a.bin") == b"x"


def hdf5(build) -> bytes:
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        build(handle)
    return buffer.getvalue()


def test_hdf5_datasets_are_weighed_before_they_are_read():
    import numpy as np

    honest = hdf5(lambda f: f.create_dataset("layers/dense/vars/0", data=np.ones((64, 32), "float32")))
    budget = Budget(SMALL, len(honest), "The weights")
    check_hdf5(honest, "The weights", SMALL, budget)
    assert budget.used == 64 * 32 * 4
    packed = hdf5(lambda f: f.create_dataset("w", data=np.zeros(200_000, "float32"), compression="gzip"))
    with pytest.raises(ArchiveError, match=r"would unpack 'w' to [\d,]+ times what it stores"):
        check_hdf5(packed, "The weights", SMALL, Budget(SMALL, len(packed), "x"))
    unwritten = hdf5(lambda f: f.create_dataset("w", shape=(10_000_000,), dtype="float32", chunks=(1000,)))
    assert len(unwritten) < 100_000
    with pytest.raises(ArchiveError, match=r"would unpack 'w' to 40 MB, more than 1 MB"):
        check_hdf5(unwritten, "The weights", SMALL, Budget(SMALL, len(unwritten), "x"))


def test_hdf5_links_that_leave_the_file_are_refused():
    import h5py
    import numpy as np

    def soft(f):
        f.create_dataset("w", data=np.ones(3))
        f["alias"] = h5py.SoftLink("/w")

    with pytest.raises(ArchiveError, match=r"links 'alias' elsewhere \(SoftLink\)"):
        check_hdf5(hdf5(soft), "The weights", SMALL, Budget(SMALL, 10_000, "x"))

    def external(f):
        f["vars"] = h5py.ExternalLink("/etc/hostname", "/")

    with pytest.raises(ArchiveError, match=r"links 'vars' elsewhere \(ExternalLink\)"):
        check_hdf5(hdf5(external), "The weights", SMALL, Budget(SMALL, 10_000, "x"))
    with pytest.raises(ArchiveError, match="not a readable HDF5 file"):
        check_hdf5(b"garbage", "The weights", SMALL, Budget(SMALL, 10_000, "x"))


def test_sizes_are_said_in_words():
    assert [size_words(n) for n in (300, 12_345, 100_000_000, 1_000_000_000, 1_200_000_000)] == [
        "300 bytes",
        "12.3 kB",
        "100 MB",
        "1 GB",
        "1.2 GB",
    ]
