"""Model sessions: one place that decides the device, the backend and the threads.

The CPU default is onnxruntime. On CUDA the shipped ONNX graphs run through torch
(models/torch_backend.py), or through onnxruntime-gpu where that is what is installed. The device
and the thread count are an explicit `Runtime` handed down from the pipeline (the local executor
gives each worker cores / workers threads, so N worker processes never oversubscribe the
machine); nothing here reads environment variables.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal, Protocol

# "auto" | "cpu" | "cuda" | "cuda:N" (checked by parse_device)
Device = str
# auto: torch on CUDA, onnxruntime on the CPU; "torch" on the CPU is for equivalence tests
Backend = Literal["auto", "onnxruntime", "torch"]
_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")
# The one variable that names the device (service settings, `folio app`); read by callers only.
DEVICE_ENV = "FOLIO_DEVICE"


class DeviceUnavailable(RuntimeError):
    """A CUDA device was asked for, but no backend here can reach it."""


def parse_device(text: str) -> Device:
    """The device option as given (`auto`, `cpu`, `cuda`, `cuda:N`), or a readable error."""
    if not _DEVICE.fullmatch(text):
        raise ValueError(f"device must be auto, cpu, cuda or cuda:N, not {text!r}")
    return text


def _nvidia_present() -> bool:
    # Cheap gate before importing torch (1-2 s per worker) on machines that have no GPU at all.
    return Path("/dev/nvidiactl").exists() or bool(os.environ.get("FOLIO_ASSUME_CUDA"))


@cache
def torch_cuda_devices() -> int:
    """CUDA devices torch sees; 0 without torch, without a CUDA build or without a GPU."""
    if not _nvidia_present() or importlib.util.find_spec("torch") is None:
        return 0
    from models.torch_backend import cuda_devices

    return cuda_devices()


def _ort_providers() -> list[str]:
    import onnxruntime as ort  # imported on first use: the CLIs read this module at start-up

    return list(ort.get_available_providers())


def _ort_has_cuda() -> bool:
    return "CUDAExecutionProvider" in _ort_providers()


@dataclass(frozen=True)
class Placement:
    backend: Literal["onnxruntime", "torch"]
    device: str  # "cpu" or "cuda:N"

    @property
    def index(self) -> int:
        return int(self.device.partition(":")[2] or 0)


@dataclass(frozen=True)
class Runtime:
    device: Device = "auto"  # auto: CUDA when torch or onnxruntime-gpu finds a GPU, else CPU
    threads: int = 0  # CPU threads per model session; 0: every core
    backend: Backend = "auto"
    half: bool = False  # fp16 weights and activations on CUDA (torch backend only)
    server: str | None = None  # a model server's address: models run there (model_server.py)

    def cpu_threads(self) -> int:
        return self.threads if self.threads > 0 else (os.cpu_count() or 1)

    def placement(self) -> Placement:
        """Where and how models run; DeviceUnavailable when CUDA was asked for and is absent."""
        if self.device == "cpu":
            return Placement("torch" if self.backend == "torch" else "onnxruntime", "cpu")
        index = int(self.device.partition(":")[2] or 0)
        gpus = torch_cuda_devices() if self.backend != "onnxruntime" else 0
        if gpus > index:
            return Placement("torch", f"cuda:{index}")
        if self.backend != "torch" and _ort_has_cuda():
            return Placement("onnxruntime", f"cuda:{index}")
        if self.device == "auto":
            return Placement("torch" if self.backend == "torch" else "onnxruntime", "cpu")
        if gpus:
            raise DeviceUnavailable(f"device {self.device} asked for, but torch sees {gpus} GPU(s)")
        raise DeviceUnavailable(
            f"device {self.device} asked for, but neither torch nor onnxruntime has a CUDA GPU "
            f"here (onnxruntime providers: {', '.join(_ort_providers())}); "
            "on a GPU machine run bash scripts/setup.sh --gpu, or use --device cpu"
        )

    def providers(self) -> list[Any]:
        """onnxruntime execution providers for this runtime's placement."""
        placement = self.placement()
        if placement.backend == "onnxruntime" and placement.device != "cpu":
            return [("CUDAExecutionProvider", {"device_id": placement.index}),
                    "CPUExecutionProvider"]  # fmt: skip
        return ["CPUExecutionProvider"]


DEFAULT_RUNTIME = Runtime()


class ModelSession(Protocol):
    """What the model wrappers use of a session; onnxruntime's and TorchSession both answer."""

    def run(self, output_names: list[str] | None, input_feed: dict[str, Any]) -> Sequence[Any]: ...

    def get_inputs(self) -> Sequence[Any]: ...

    def get_outputs(self) -> Sequence[Any]: ...

    def get_modelmeta(self) -> Any: ...


# Transports for `Runtime.server` addresses "scheme:name" that an executor brings (the Ray
# executor registers "ray"); any other address is the socket of a local model server.
REMOTE_SESSIONS: dict[str, Callable[[str, Path], ModelSession]] = {}


@cache
def session(path: Path, runtime: Runtime = DEFAULT_RUNTIME) -> ModelSession:
    """A shared inference session for a model file and runtime (cached per process)."""
    if runtime.server is not None:
        scheme, _, name = runtime.server.partition(":")
        if scheme in REMOTE_SESSIONS:
            return REMOTE_SESSIONS[scheme](name, path)
        from models.model_server import RemoteSession

        return RemoteSession(runtime.server, path)
    placement = runtime.placement()
    if placement.backend == "torch":
        from models.torch_backend import TorchSession, set_cpu_threads

        if placement.device == "cpu":
            set_cpu_threads(runtime.cpu_threads())
        return TorchSession(path, placement.device, half=runtime.half)
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = runtime.cpu_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), sess_options=options, providers=runtime.providers())
