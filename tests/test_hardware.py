"""core.hardware: the GPU TensorFlow finds (device lists replaced by fakes), asked in the background, on the page."""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
from types import SimpleNamespace

import pytest
from streamlit.testing.v1 import AppTest

from core import cluster_setup, engine, hardware, memory

A100 = {"device_name": "NVIDIA A100-SXM4-40GB", "compute_capability": (8, 0)}
T4 = {"device_name": "Tesla T4", "compute_capability": (7, 5)}


def gpu(index: int) -> SimpleNamespace:
    """What ``tf.config.list_physical_devices("GPU")`` lists: a PhysicalDevice has a name and a type."""
    return SimpleNamespace(name=f"/physical_device:GPU:{index}", device_type="GPU")


def found(devices: list, details: dict | None = None, cuda: bool = True, cores: int = 4) -> hardware.Hardware:
    """``detect`` with TensorFlow's calls replaced: ``devices`` listed, ``details`` by device name."""
    known = details or {}

    def describe(device):
        if device.name not in known:
            raise RuntimeError("no details for this device")  # as TensorFlow does on some platforms
        return known[device.name]

    return hardware.detect(lambda: devices, describe, lambda: cuda, cores)


@pytest.fixture(autouse=True)
def nothing_known():
    hardware.forget()
    yield
    hardware.forget()


def test_no_gpu_on_a_cuda_build_says_the_cpu_and_its_cores():
    none = found([], cores=4)
    assert not none.has_gpu and not none.cpu_only_build and none.names == ()
    assert none.sentence() == "No GPU found by TensorFlow: Keras networks train on the CPU (4 cores)."
    assert found([], cores=1).sentence().endswith("on the CPU (1 core).")


def test_one_gpu_is_named_as_its_driver_names_it():
    one = found([gpu(0)], {"/physical_device:GPU:0": A100})
    assert one.has_gpu and not one.cpu_only_build
    assert one.names == ("NVIDIA A100-SXM4-40GB",) and one.gpus[0].compute_capability == (8, 0)
    assert one.sentence() == "Keras networks train on the GPU: NVIDIA A100-SXM4-40GB."


def test_two_gpus_are_both_named_and_the_first_is_the_one_used():
    two = found([gpu(0), gpu(1)], {"/physical_device:GPU:0": T4})  # no details for the second
    assert two.has_gpu and two.names == ("Tesla T4", "/physical_device:GPU:1")
    assert two.sentence() == (
        "Keras networks train on the GPU: Tesla T4 (TensorFlow found 2 GPUs: Tesla T4, /physical_device:GPU:1; "
        "a network uses the first)."
    )


def test_the_cpu_only_build_says_so_and_how_to_get_the_gpu_build():
    build = found([], cuda=False, cores=2)
    assert build.cpu_only_build and not build.has_gpu
    words = build.sentence()
    assert words.startswith("This TensorFlow is the CPU-only build: Keras networks train on the CPU (2 cores).")
    assert "install tensorflow[and-cuda]" in words and "instead of tensorflow-cpu" in words
    mac = hardware.Hardware((), False, 8, "darwin", "tensorflow 2.21.0")
    assert mac.sentence().startswith("This TensorFlow is the CPU-only build (tensorflow 2.21.0): ")
    assert "tensorflow-metal" in mac.sentence()
    # a GPU through a plugin (Apple's Metal) on a build without CUDA is still a GPU
    metal = found([gpu(0)], {"/physical_device:GPU:0": {"device_name": "METAL"}}, cuda=False)
    assert metal.has_gpu and not metal.cpu_only_build and metal.sentence() == "Keras networks train on the GPU: METAL."


def test_this_machine_trains_networks_on_the_cpu():
    """The real call, as the app makes it: TensorFlow asked on a worker of the embedded cluster, not here."""
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("TensorFlow is not installed")
    loaded_here = "tensorflow" in sys.modules
    here = hardware.ask_a_worker()
    if here.error is not None and "import" in here.error.lower():
        pytest.skip(f"TensorFlow does not import on this machine: {here.error}")
    assert here.error is None and not here.has_gpu, here
    assert here.cpu_only_build and here.package.startswith("tensorflow-cpu "), here
    assert here.sentence().startswith(f"This TensorFlow is the CPU-only build ({here.package}): Keras networks train")
    assert ("tensorflow" in sys.modules) == loaded_here, "asked on the worker, not in this process"


def test_the_workers_are_asked_once_in_the_background_and_the_page_never_waits():
    gate, calls = threading.Event(), []

    def slow_ask():
        calls.append(1)
        gate.wait(30)
        return found([gpu(0)], {"/physical_device:GPU:0": T4})

    assert hardware.on_workers(slow_ask) is None, "checking: no answer yet, and no wait"
    assert hardware.on_workers(slow_ask) is None
    gate.set()
    deadline = time.monotonic() + 30
    while (answer := hardware.on_workers(slow_ask)) is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert answer.names == ("Tesla T4",) and len(calls) == 1, "asked once, kept for the process"


def test_the_real_check_answers_from_a_worker_without_holding_the_background_thread():
    from core import engine

    assert hardware.on_workers() is None, "asked in the background"
    queued = threading.Event()
    engine.in_background(queued.set)  # not stuck behind the worker's TensorFlow import
    assert queued.wait(60)
    deadline = time.monotonic() + 300
    while (answer := hardware.on_workers()) is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert answer.error is None and answer.sentence(), answer


def test_a_failed_check_says_why_and_is_asked_again_later(monkeypatch):
    def broken():
        raise engine.EngineUnavailable("Could not start training on the embedded Dask cluster (no memory).")

    assert hardware.on_workers(broken) is None
    deadline = time.monotonic() + 30
    while (answer := hardware.on_workers(broken)) is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert answer.error and "no memory" in answer.sentence() and answer.sentence().startswith("Could not check")
    monkeypatch.setattr(hardware, "RETRY_S", 0.0)
    assert hardware.on_workers(lambda: found([])) is None, "asked again once the wait is over"


def test_workers_see_every_gpu_and_share_its_memory(monkeypatch):
    monkeypatch.delenv("TF_FORCE_GPU_ALLOW_GROWTH", raising=False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    environ = cluster_setup.worker_environment(1)
    assert environ["TF_FORCE_GPU_ALLOW_GROWTH"] == "true" and "CUDA_VISIBLE_DEVICES" not in environ
    assert memory.share_gpu_memory() == {"TF_FORCE_GPU_ALLOW_GROWTH": "true"}, "the app's own process too"
    monkeypatch.setenv("TF_FORCE_GPU_ALLOW_GROWTH", "false")  # a person's own setting is kept
    assert cluster_setup.worker_environment(1)["TF_FORCE_GPU_ALLOW_GROWTH"] == "false"
    assert memory.share_gpu_memory() == {"TF_FORCE_GPU_ALLOW_GROWTH": "false"}


# --------------------------------------------------------------------------- the Models page


@pytest.fixture
def answers(monkeypatch) -> list:
    """The workers' answer the page gets (last item; None: still checking); asking TensorFlow here fails the test."""
    given: list = [None]

    def never():
        raise AssertionError("the page asked TensorFlow itself")

    monkeypatch.setattr(hardware, "ask_a_worker", never)
    monkeypatch.setattr(hardware, "on_workers", lambda ask=never: given[-1])
    return given


def hardware_captions(at: AppTest) -> list[str]:
    return [c.value.replace("\\", "") for c in at.caption if ":material/memory:" in c.value]


def test_the_models_page_says_where_a_network_trains(answers):
    at = AppTest.from_file("../app.py", default_timeout=120).run()
    at.button(key="data_sample_iris").click().run()
    at.switch_page("pages/target.py").run()
    at.button(key="target_confirm").click().run()
    at.switch_page("pages/clean.py").run()
    at.switch_page("pages/models.py").run()
    at.multiselect(key="models_chosen").set_value(["logistic_regression", "keras_mlp"]).run()
    assert not at.exception
    assert hardware_captions(at) == [
        ":material/memory: Checking whether TensorFlow finds a GPU where networks train…"
    ], "checking, while the workers have not answered"
    answers.append(found([gpu(0)], {"/physical_device:GPU:0": T4}))
    at.run()
    assert hardware_captions(at) == [":material/memory: Keras networks train on the GPU: Tesla T4."]
    answers.append(found([], cuda=False, cores=2))
    at.run()
    [said] = hardware_captions(at)
    assert "This TensorFlow is the CPU-only build: Keras networks train on the CPU (2 cores)." in said
    at.multiselect(key="models_chosen").set_value(["logistic_regression"]).run()
    assert hardware_captions(at) == [], "no network picked, nothing said"
