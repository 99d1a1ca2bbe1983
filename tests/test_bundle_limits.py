"""Model bundles that would exhaust the server are refused before anything in them is unpacked or parsed.

Every bomb here is built in the test, small on disk (at most a few MB), and
aims at one level: the bundle zip, the skops zip inside it, the ``.keras`` zip.
Each refusal is also held to a memory ceiling: the loader may not allocate more
than 100 MB (tracemalloc's peak) while refusing a file that would unpack to
hundreds of MB or more than a GB.
"""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from core.export import BACKGROUND, CARD_JSON, NETWORK, PIPELINE, BundleError, export_bundle, load_bundle
from core.target import Task
from tests.test_export import trained
from tests.zip_helpers import (
    DEFLATED,
    Member,
    build_zip,
    deflated,
    deflated_run,
    members_of,
    npy_header,
    replace,
    stored,
    zip_with_stored_run,
)

CEILING_MB = 100
GB = 1_000_000_000


@pytest.fixture(scope="module")
def iris_bundle() -> bytes:
    return export_bundle(trained("iris", "species", Task.MULTICLASS, "logistic_regression")[2])


@pytest.fixture(scope="module")
def keras_bundle() -> bytes:
    return export_bundle(trained("iris", "species", Task.MULTICLASS, "keras_mlp", {"epochs": 1})[2])


def member(bundle: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        return archive.read(name)


def refused_within_ceiling(data: bytes) -> str:
    """load_bundle's refusal; fails when loading allocates more than CEILING_MB on the way."""
    tracemalloc.start()
    try:
        with pytest.raises(BundleError) as caught:
            load_bundle(data, file_name="bomb.zip")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < CEILING_MB * 1e6, f"refusing took {peak / 1e6:,.0f} MB"
    return caught.value.user_message


def test_a_card_that_inflates_to_more_than_a_gigabyte_is_refused_unread(iris_bundle):
    # valid JSON: the real card followed by 1.2 GB of spaces (the issue's 1.2 MB bundle)
    card = deflated_run(CARD_JSON, int(1.2 * GB), b" ", prefix=member(iris_bundle, CARD_JSON))
    data = build_zip(replace(members_of(iris_bundle), card))
    assert len(data) < 2_000_000
    message = refused_within_ceiling(data)
    assert "'model_card.json'" in message and "1.2 GB" in message and "100 MB" in message, message
    assert message.endswith("It was not loaded.")


def test_a_file_inside_the_model_file_that_inflates_is_refused(iris_bundle):
    # a real array of the pipeline swapped for a valid .npy of 900 MB of zeros, deflated inside the skops zip
    inner = members_of(member(iris_bundle, PIPELINE))
    target = max((m for m in inner if m.name.endswith(".npy")), key=lambda m: m.size).name
    count = 900_000_000 // 8
    bomb = deflated_run(target, count * 8, b"\0", prefix=npy_header((count,)))
    data = build_zip(replace(members_of(iris_bundle), deflated(PIPELINE, build_zip(replace(inner, bomb)))))
    assert len(data) < 2_000_000
    message = refused_within_ceiling(data)
    assert "model file (pipeline.skops)" in message and repr(target) in message and "zip bomb" in message, message


def test_a_keras_network_that_inflates_is_refused(keras_bundle):
    inner = members_of(member(keras_bundle, NETWORK))
    bomb = deflated_run("model.weights.h5", 900_000_000, b"\0")
    data = build_zip(replace(members_of(keras_bundle), stored(NETWORK, build_zip(replace(inner, bomb)))))
    assert len(data) < 2_000_000
    message = refused_within_ceiling(data)
    assert "Keras network (network.keras)" in message and "'model.weights.h5'" in message, message


def test_a_model_file_of_too_many_files_is_refused(iris_bundle):
    inner = members_of(member(iris_bundle, PIPELINE))
    extra = [stored(f"{n}.npy", b"") for n in range(100_001)]
    data = build_zip(replace(members_of(iris_bundle), deflated(PIPELINE, build_zip(inner + extra))))
    message = refused_within_ceiling(data)
    assert "model file (pipeline.skops)" in message and "more than 100,000 files" in message, message


def test_a_member_packed_far_tighter_than_real_bundles_is_refused(iris_bundle):
    # 8 MB of zeros pack about 1,000 to 1; the most any honest bundle member packs is under 60 to 1
    data = build_zip(replace(members_of(iris_bundle), deflated_run(BACKGROUND, 8_000_000)))
    message = refused_within_ceiling(data)
    assert "'background.parquet'" in message and "times its packed size" in message and "250 times" in message


def test_the_total_across_levels_is_limited_before_anything_inflates(iris_bundle):
    # three files of 800 MB each (declared, each packed 240 to 1): every one is within the limits,
    # together with the model file they would unpack to more than 2 GB
    rng = np.random.default_rng(0)
    packed = rng.integers(0, 256, 3_340_000, dtype=np.uint8).tobytes()
    big = [Member(f"{n}.npy", packed, DEFLATED, 0, 800_000_000) for n in range(3)]
    inner = members_of(member(iris_bundle, PIPELINE))
    data = build_zip(replace(members_of(iris_bundle), stored(PIPELINE, build_zip(inner + big))))
    message = refused_within_ceiling(data)
    assert "more than 2 GB in all" in message and "the limit for a model bundle is 2 GB" in message, message


def test_the_total_across_levels_is_also_limited_by_the_bundles_size(iris_bundle):
    # a 1 MB bundle whose model file packs 220 to 1 (within the limit) and holds, stored, 210 MB:
    # counted at both levels it unpacks to 440 times the bundle's size
    rng = np.random.default_rng(0)
    chunk = np.zeros(1 << 20, np.uint8)
    chunk[::1024] = rng.integers(1, 256, len(chunk[::1024]))
    inner = members_of(member(iris_bundle, PIPELINE))
    skops = zip_with_stored_run(PIPELINE, inner, "1.npy", chunk.tobytes(), 200)
    data = build_zip(replace(members_of(iris_bundle), skops))
    assert len(data) < 1_200_000 and skops.size / skops.packed < 250
    message = refused_within_ceiling(data)
    assert "in all, counting the archives inside it" in message and "250 times its size" in message, message


def test_a_header_that_understates_a_member_lets_no_more_through_than_it_declares(iris_bundle):
    # the card declares 10 kB but its data unpacks to 1.2 GB: reading stops at what was declared
    card = deflated_run(CARD_JSON, int(1.2 * GB), b" ", prefix=member(iris_bundle, CARD_JSON))
    card.size = 10_000
    message = refused_within_ceiling(build_zip(replace(members_of(iris_bundle), card)))
    assert "'model_card.json' does not match its header" in message, message


def test_the_limits_are_the_documented_ones():
    from core.archives import size_words
    from core.export import BUNDLE_LIMITS as limits
    from core.export import MAX_BACKGROUND_ROWS

    text = (Path(__file__).resolve().parents[1] / "SECURITY.md").read_text()
    rows = {
        (cells := line.split("|"))[1].strip(): cells[2].strip() for line in text.splitlines() if line.startswith("|")
    }
    assert rows["a bundle on disk"] == size_words(limits.max_archive_bytes) == "1 GB"
    assert rows["one file, unpacked"] == size_words(limits.max_member_bytes) == "1 GB"
    assert rows["one JSON or Markdown file, unpacked"] == size_words(limits.max_text_bytes) == "100 MB"
    assert rows["everything unpacked, all levels together"] == size_words(limits.max_total_bytes) == "2 GB"
    assert rows["files in one archive"] == f"{limits.max_members:,}" == "100,000"
    assert rows["unpacked / packed size, one file and the whole bundle"] == f"{limits.max_ratio:g} times" == "250 times"
    assert rows["archives inside archives"] == f"{limits.max_depth} deep" == "3 deep"
    assert rows["training rows"] == f"{MAX_BACKGROUND_ROWS:,}" == "2,000"
    assert f"Ratios are judged only above {size_words(limits.ratio_floor)}" in text


def test_a_model_too_large_for_a_bundle_is_refused_at_export():
    import dataclasses

    from core.export import BUNDLE_LIMITS

    _, _, usable = trained("iris", "species", Task.MULTICLASS, "random_forest_clf", {"n_estimators": 20})
    small = dataclasses.replace(BUNDLE_LIMITS, max_member_bytes=100_000)
    with pytest.raises(BundleError, match=r"too large to export.*'pipeline\.skops'.*more than 100 kB"):
        export_bundle(usable, limits=small)
    assert load_bundle(export_bundle(usable)).name == usable.name


def keras_with_config(bundle: bytes, change) -> bytes:
    """``bundle`` with its network's config.json edited by ``change(config)``."""
    import json

    inner = members_of(member(bundle, NETWORK))
    config = json.loads(next(m for m in inner if m.name == "config.json").payload)
    change(config)
    network = build_zip(replace(inner, stored("config.json", json.dumps(config).encode())))
    return build_zip(replace(members_of(bundle), stored(NETWORK, network)))


def test_a_network_whose_config_would_allocate_gigabytes_is_refused_before_keras_builds_it(keras_bundle):
    # Keras allocates every weight of the config before reading the (small, honest) weights file
    def widen(config):
        wide = False
        for layer in config["config"]["layers"]:
            if wide:  # what follows a widened layer takes its width, so Keras builds it without complaint
                if "build_config" in layer:
                    layer["build_config"]["input_shape"][-1] = 20_000
                for node in layer["inbound_nodes"]:
                    node["args"][0]["config"]["shape"][-1] = 20_000
            if layer["class_name"] == "Dense" and layer["name"] != "output":
                layer["config"]["units"] = 20_000
                wide = True

    message = refused_within_ceiling(keras_with_config(keras_bundle, widen))
    assert "layers whose weights would take up to 6.4 GB, more than 1 GB" in message, message


def test_a_network_with_layers_the_app_never_builds_is_refused(keras_bundle):
    def foreign(config):  # a layer that would run code of its own (the text network's Embedding is built now)
        config["config"]["layers"][1]["class_name"] = "Lambda"

    message = refused_within_ceiling(keras_with_config(keras_bundle, foreign))
    assert "made of layers this app never builds ('Lambda')" in message, message


def test_training_rows_far_beyond_what_a_bundle_carries_are_refused_before_pandas_reads_them(iris_bundle):
    import pandas as pd

    buffer = io.BytesIO()
    pd.DataFrame({"sepal_length": np.zeros(5_000_000, "float32")}).to_parquet(buffer, index=False)
    assert len(buffer.getvalue()) < 1_000_000  # 20 MB of rows, packed by Parquet itself
    data = build_zip(replace(members_of(iris_bundle), stored(BACKGROUND, buffer.getvalue())))
    message = refused_within_ceiling(data)
    assert "training rows (background.parquet) hold 5,000,000 rows" in message and "at most 2,000 rows" in message
