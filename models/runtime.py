"""onnxruntime sessions: one place that decides threads and execution providers.

The device and the thread count are an explicit `Runtime` handed down from the pipeline (the
local executor gives each worker cores / workers threads, so N worker processes never
oversubscribe the machine); nothing here reads environment variables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import onnxruntime as ort

Device = Literal["auto", "cpu", "cuda"]


class DeviceUnavailable(RuntimeError):
    """`cuda` was asked for, but onnxruntime has no CUDA provider here."""


@dataclass(frozen=True)
class Runtime:
    device: Device = "auto"  # auto: CUDA when onnxruntime-gpu finds a GPU, else CPU
    threads: int = 0  # CPU threads per model session; 0: every core

    def cpu_threads(self) -> int:
        return self.threads if self.threads > 0 else (os.cpu_count() or 1)

    def providers(self) -> list[str]:
        available = ort.get_available_providers()
        has_cuda = "CUDAExecutionProvider" in available
        if self.device == "cuda" and not has_cuda:
            raise DeviceUnavailable(
                "device cuda asked for, but onnxruntime has no CUDA provider "
                f"(available: {', '.join(available)}); install onnxruntime-gpu or use cpu"
            )
        if self.device != "cpu" and has_cuda:
            return ["CUDAExecutionProvider", "CPUExecutionProvider"]
        return ["CPUExecutionProvider"]


DEFAULT_RUNTIME = Runtime()


@cache
def session(path: Path, runtime: Runtime = DEFAULT_RUNTIME) -> ort.InferenceSession:
    """A shared inference session for a model file and runtime (cached per process)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = runtime.cpu_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), sess_options=options, providers=runtime.providers())
