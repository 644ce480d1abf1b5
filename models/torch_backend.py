"""The torch backend: a shipped ONNX file run by torch on a CUDA device (or the CPU, for tests).

`TorchSession` answers the part of onnxruntime's `InferenceSession` the model wrappers use
(`run`, `get_inputs`, `get_outputs`, `get_modelmeta`), so every model stage runs on either
backend unchanged. Inputs go through pinned memory on CUDA (asynchronous copies); half precision
is opt-in per session and only used on CUDA.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import torch

from models import onnx_torch
from models.model_server import ModelMeta


class TorchSession:
    def __init__(self, path: Path, device: str = "cpu", half: bool = False) -> None:
        self.path, self.device = path, torch.device(device)
        self.half = half and self.device.type == "cuda"
        module = onnx_torch.load(path)
        self._inputs, self._outputs = module.input_info, module.output_info
        self._meta = ModelMeta(dict(module.metadata))
        self.module = module.to(self.device)
        if self.half:
            self.module = self.module.half()
        self._lock = threading.Lock()  # one graph run at a time per session (eager interpreter)

    def get_inputs(self) -> list[onnx_torch.TensorInfo]:
        return self._inputs

    def get_outputs(self) -> list[onnx_torch.TensorInfo]:
        return self._outputs

    def get_modelmeta(self) -> ModelMeta:
        return self._meta

    def _tensor(self, value: np.ndarray) -> torch.Tensor:
        tensor = torch.from_numpy(np.ascontiguousarray(value))
        if self.device.type == "cuda":
            tensor = tensor.pin_memory().to(self.device, non_blocking=True)
        if self.half and tensor.is_floating_point():
            tensor = tensor.half()
        return tensor

    def run(self, output_names: list[str] | None, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        with self._lock, torch.inference_mode():
            outputs = self.module(**{name: self._tensor(v) for name, v in feeds.items()})
        names = output_names or [info.name for info in self._outputs]
        results = []
        for name in names:
            value = outputs[name]
            if value.is_floating_point():
                value = value.float()
            results.append(value.cpu().numpy())
        return results


def cuda_devices() -> int:
    """How many CUDA devices torch sees (0 without a CUDA build or a GPU)."""
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def set_cpu_threads(threads: int) -> None:
    """torch's intra-op threads on the CPU (the worker's share of the cores)."""
    torch.set_num_threads(max(1, threads))
