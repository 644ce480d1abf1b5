"""onnxruntime sessions: one place that decides threads and execution providers.

CPU threads per session come from FOLIO_THREADS (set by the local executor to cores / workers),
so N worker processes never oversubscribe the machine.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import onnxruntime as ort


def cpu_threads() -> int:
    value = os.environ.get("FOLIO_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else (os.cpu_count() or 1)


def providers() -> list[str]:
    """CUDA when onnxruntime-gpu is installed and FOLIO_DEVICE is not 'cpu'; CPU otherwise."""
    available = ort.get_available_providers()
    wanted = os.environ.get("FOLIO_DEVICE", "auto")
    if wanted != "cpu" and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


@cache
def session(path: Path) -> ort.InferenceSession:
    """A shared inference session for a model file (cached per process)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = cpu_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), sess_options=options, providers=providers())
