"""--device on the commands that process documents: names are checked, an absent GPU is a
readable refusal before anything runs, and the model server is only used on a device."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from models.runtime import DeviceUnavailable, Runtime, parse_device, torch_cuda_devices
from service.cli import app

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
NO_GPU = pytest.mark.skipif(
    torch_cuda_devices() > 0 or Runtime(device="auto").placement().device != "cpu",
    reason="this machine has a GPU",
)


@pytest.mark.parametrize("good", ["auto", "cpu", "cuda", "cuda:0", "cuda:3"])
def test_device_names(good: str) -> None:
    assert parse_device(good) == good


@pytest.mark.parametrize("bad", ["gpu", "cuda:", "cuda:x", "CPU", "cuda0", ""])
def test_bad_device_names_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="device must be auto, cpu, cuda or cuda:N"):
        parse_device(bad)


@pytest.mark.parametrize("command", [["run", str(SAMPLES / "receipt.jpg")], ["app"]])
def test_commands_refuse_a_bad_device_name(command: list[str], tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, [*command, "-w", str(tmp_path / "ws"), "--device", "gpu"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 2
    assert "device must be auto, cpu, cuda or cuda:N, not 'gpu'" in result.output


@NO_GPU
def test_cuda_without_a_gpu_is_refused_before_anything_runs(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["run", str(SAMPLES / "receipt.jpg"), "-w", str(tmp_path / "ws"), "--device", "cuda"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 2
    assert "neither torch nor onnxruntime has a CUDA GPU" in result.output
    assert "setup.sh --gpu" in " ".join(result.output.split())
    assert not list((tmp_path / "ws").glob("staging/**/*.json"))  # nothing was recorded


@NO_GPU
def test_auto_on_a_cpu_machine_runs_onnxruntime_without_a_model_server(tmp_path: Path) -> None:
    from pipelines.execution.config import load_profile
    from pipelines.execution.executor import LocalExecutor
    from pipelines.store.workspace import Workspace

    assert Runtime().placement().backend == "onnxruntime"
    executor = LocalExecutor(load_profile("text"), Workspace.open(tmp_path / "ws"), "r", 1)
    assert not executor.use_model_server
    with pytest.raises(DeviceUnavailable):
        LocalExecutor(load_profile("text"), Workspace.open(tmp_path / "ws"), "r", 1, device="cuda")
