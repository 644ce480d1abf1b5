"""The torch backend against onnxruntime: operators on hand-built graphs, every shipped model on
real inputs, and the whole pipeline's text on the bundled samples (on the CPU; the same checks
run on CUDA under the gpu marker)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from models import onnx_torch  # noqa: E402
from models.runtime import Runtime  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
CUDA = torch.cuda.is_available()


def _model(nodes: list, inputs: list, outputs: list, inits=(), opset: int = 13) -> bytes:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model.SerializeToString()


def _both(model: bytes, feeds: dict[str, np.ndarray], tmp_path: Path) -> tuple[list, list]:
    path = tmp_path / "m.onnx"
    path.write_bytes(model)
    reference = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)
    ours = list(onnx_torch.run_numpy(onnx_torch.load(path), feeds).values())
    return reference, ours


def _float(name: str, shape: list | None) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def _assert_same(reference: list, ours: list) -> None:
    assert len(reference) == len(ours)
    for a, b in zip(reference, ours, strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_same_upper_padding_on_even_kernels(tmp_path: Path) -> None:
    """PP-OCR's 2x2 stride-1 conv and max pool pad one side only (SAME_UPPER)."""
    weight = numpy_helper.from_array(
        np.random.default_rng(1).random((4, 3, 2, 2), dtype=np.float32), "w"
    )
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], auto_pad="SAME_UPPER", kernel_shape=[2, 2]),
        helper.make_node(
            "MaxPool", ["c"], ["y"], auto_pad="SAME_UPPER", kernel_shape=[2, 2], strides=[1, 1]
        ),
    ]
    model = _model(nodes, [_float("x", [1, 3, 7, 5])], [_float("y", None)], [weight])
    feeds = {"x": np.random.default_rng(2).random((1, 3, 7, 5), dtype=np.float32)}
    _assert_same(*_both(model, feeds, tmp_path))


def test_softmax_before_opset_13_flattens_to_two_dimensions(tmp_path: Path) -> None:
    node = helper.make_node("Softmax", ["x"], ["y"], axis=1)
    model = _model([node], [_float("x", [2, 3, 4])], [_float("y", None)], opset=11)
    feeds = {"x": np.random.default_rng(3).random((2, 3, 4), dtype=np.float32)}
    reference, ours = _both(model, feeds, tmp_path)
    _assert_same(reference, ours)
    assert not np.allclose(ours[0].sum(axis=1), 1.0)  # over axes 1 and 2 together, not axis 1


def test_slices_gathers_and_shapes(tmp_path: Path) -> None:
    def ints(name: str, values: list) -> onnx.TensorProto:
        return numpy_helper.from_array(np.array(values, dtype=np.int64), name)

    nodes = [
        helper.make_node("Slice", ["x", "s", "e", "a", "st"], ["sliced"]),  # negative step
        helper.make_node("Gather", ["x", "idx"], ["gathered"], axis=1),
        helper.make_node("Shape", ["x"], ["shape"]),
        helper.make_node("ConstantOfShape", ["shape"], ["zeros"],
                         value=numpy_helper.from_array(np.array([2.5], dtype=np.float32))),
        helper.make_node("Split", ["x"], ["p1", "p2"], axis=2),
        helper.make_node("Tile", ["x", "reps"], ["tiled"]),
        helper.make_node("Expand", ["col", "shape"], ["expanded"]),
    ]  # fmt: skip
    inits = [
        ints("s", [-1, 0]), ints("e", [-10**9, 4]), ints("a", [1, 2]), ints("st", [-1, 2]),
        ints("idx", [[0, -1], [1, 1]]), ints("reps", [1, 2, 1]),
        numpy_helper.from_array(np.array([[[1.0]], [[2.0]]], dtype=np.float32), "col"),
    ]  # fmt: skip
    outs = [_float(n, None) for n in ("sliced", "gathered", "zeros", "p1", "p2", "tiled",
                                      "expanded")]  # fmt: skip
    model = _model(nodes, [_float("x", [2, 3, 4])], outs, inits)
    feeds = {"x": np.arange(24, dtype=np.float32).reshape(2, 3, 4)}
    _assert_same(*_both(model, feeds, tmp_path))


def test_loop_with_carried_and_scan_outputs_and_an_if(tmp_path: Path) -> None:
    """SLANet's decoder is a Loop whose body holds an If: both run eagerly."""
    one = numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one")
    limit = numpy_helper.from_array(np.array(3.0, dtype=np.float32), "limit")
    then = helper.make_graph(
        [helper.make_node("Add", ["acc", "one"], ["t"])], "then", [], [_float("t", None)]
    )
    other = helper.make_graph(
        [helper.make_node("Mul", ["acc", "one"], ["o"])], "else", [], [_float("o", None)]
    )
    body = helper.make_graph(
        [
            helper.make_node("Less", ["acc", "limit"], ["small"]),
            helper.make_node("If", ["small"], ["next"], then_branch=then, else_branch=other),
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Identity", ["next"], ["seen"]),
        ],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         _float("acc", [])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         _float("next", []), _float("seen", [])],
    )  # fmt: skip
    trips = numpy_helper.from_array(np.array(5, dtype=np.int64), "trips")
    cond = numpy_helper.from_array(np.array(True), "cond")
    loop = helper.make_node("Loop", ["trips", "cond", "x"], ["final", "history"], body=body)
    model = _model(
        [loop], [_float("x", [])], [_float("final", None), _float("history", None)],
        [trips, cond, one, limit],
    )  # fmt: skip
    reference, ours = _both(model, {"x": np.array(0.5, dtype=np.float32)}, tmp_path)
    _assert_same(reference, ours)
    assert ours[1].tolist() == [1.5, 2.5, 3.5, 3.5, 3.5]


def test_an_unknown_operator_fails_at_load_with_its_name(tmp_path: Path) -> None:
    node = helper.make_node("Einsum", ["x", "x"], ["y"], equation="ij,jk->ik")
    path = tmp_path / "m.onnx"
    path.write_bytes(_model([node], [_float("x", [2, 2])], [_float("y", None)], opset=12))
    with pytest.raises(onnx_torch.UnsupportedOnnxModel, match="Einsum"):
        onnx_torch.load(path)


def _shipped(name: str) -> Path:
    from models.assets import model_path
    from models.fetch import SLANET, weights_path

    return weights_path(SLANET) if name == "slanet" else model_path(name)


def _page_input(name: str) -> dict[str, np.ndarray]:
    """A real page (the bundled receipt) shaped as each model expects, not random noise."""
    import cv2

    page = cv2.imread(str(SAMPLES / "receipt.jpg"))
    assert page is not None
    image = page.astype(np.float32) / 255.0
    sizes = {"ppocr_det": (480, 640), "ppocr_rec": (320, 48), "layout_cdla": (608, 800),
             "orientation": (224, 224), "slanet": (488, 488)}  # fmt: skip
    width, height = sizes[name]
    crop = image[: image.shape[0] // 3] if name == "ppocr_rec" else image
    tensor = cv2.resize(crop, (width, height)).transpose(2, 0, 1)[None]
    key = "image" if name == "layout_cdla" else "x"
    return {key: np.ascontiguousarray(tensor)}


@pytest.mark.parametrize("name", ["ppocr_det", "ppocr_rec", "layout_cdla", "orientation", "slanet"])
@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
def test_every_shipped_model_matches_onnxruntime(name: str, device: str) -> None:
    from models.torch_backend import TorchSession

    if device == "cuda" and not CUDA:
        pytest.skip("no CUDA device")
    path = _shipped(name)
    feeds = _page_input(name)
    reference = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)
    ours = TorchSession(path, device).run(None, feeds)
    for a, b in zip(reference, ours, strict=True):
        assert a.shape == b.shape
        assert float(np.abs(a - b).max()) < 1e-3, name


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
def test_the_pipeline_reads_the_same_text_on_either_backend(
    device: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from models.torch_backend import TorchSession
    from pipelines.execution.config import load_profile
    from pipelines.execution.pipeline import Pipeline

    if device == "cuda" and not CUDA:
        pytest.skip("no CUDA device")
    torch_runs: list[str] = []
    run = TorchSession.run

    def counted(self: TorchSession, *args: object) -> list[np.ndarray]:
        torch_runs.append(self.path.name)
        return run(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(TorchSession, "run", counted)
    config = load_profile("default")
    files = [SAMPLES / "receipt.jpg", SAMPLES / "form.png"]
    texts = {}
    for backend in ("onnxruntime", "torch"):
        runtime = Runtime(device=device if backend == "torch" else "cpu", backend=backend)
        pipeline = Pipeline(config, runtime=runtime)
        documents = pipeline.process_many([(path, None) for path in files])
        texts[backend] = [[line for page in d.pages for line in page.lines()] for d in documents]
    assert all(texts["onnxruntime"])
    assert {"PP-OCRv6_det_small.onnx", "PP-OCRv6_rec_small.onnx"} <= set(torch_runs)
    for ours, reference in zip(texts["torch"], texts["onnxruntime"], strict=True):
        assert [line.text for line in ours] == [line.text for line in reference]
        confidences = [(a.confidence, b.confidence) for a, b in zip(ours, reference, strict=True)]
        assert max(abs(a - b) for a, b in confidences) < 1e-3


@pytest.mark.gpu
def test_half_precision_on_cuda_reads_the_same_text() -> None:
    """fp16 is opt-in (Runtime(half=True)); this is the check that decides it per machine."""
    from pipelines.execution.config import load_profile
    from pipelines.execution.pipeline import Pipeline

    if not CUDA:
        pytest.skip("no CUDA device")
    files = [SAMPLES / "receipt.jpg", SAMPLES / "form.png"]
    texts = []
    for half in (False, True):
        pipeline = Pipeline(load_profile("default"), runtime=Runtime(device="cuda", half=half))
        documents = pipeline.process_many([(path, None) for path in files])
        texts.append([[line.text for page in d.pages for line in page.lines()] for d in documents])
    assert texts[0] and texts[1] == texts[0]


@pytest.mark.parametrize("name", ["ppocr_det", "layout_cdla", "slanet"])
def test_every_intermediate_value_is_dropped_after_its_last_reader(name: str) -> None:
    """Activations are freed as the graph runs (device memory bounds the batch size)."""
    graph = onnx_torch.load(_shipped(name)).graph
    made = {n for node in graph.nodes for n in node.outputs if n}
    released = [n for names in graph.release for n in names]
    assert len(released) == len(set(released))  # each once
    assert set(released) == made - set(graph.outputs)
    position = {n: i for i, names in enumerate(graph.release) for n in names}
    for index, node in enumerate(graph.nodes):  # never before a reader
        for value in node.inputs:
            if value in position:
                assert position[value] >= index
