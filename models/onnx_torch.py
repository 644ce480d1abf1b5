"""The shipped ONNX graphs as torch modules, so the same model files run on CUDA through torch.

onnx2torch would do this, but it pulls torchvision, whose only wheels here are CUDA builds that
replace the CPU torch (DESIGN.md section 6). The models Folio ships use ~60 operator types, so a
small eager interpreter covers them: the graph's initializers and constants become buffers (moved
by `.to(device)` and cast by `.half()` like any module's), and `forward` runs the nodes in their
stored (topological) order. Control flow (`Loop`, `If`: SLANet's decoder) runs eagerly too.
Results match onnxruntime to float rounding (tests/unit/test_onnx_torch.py).

Only what the shipped models use is implemented; an unknown operator fails at load with its name,
not halfway through a batch.
"""

from __future__ import annotations

import math
from collections import ChainMap
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper

Tensor = torch.Tensor
Env = MutableMapping[str, Tensor]

# ONNX TensorProto element types -> torch dtypes (those the shipped graphs cast to).
_DTYPES: dict[int, torch.dtype] = {
    onnx.TensorProto.FLOAT: torch.float32,
    onnx.TensorProto.FLOAT16: torch.float16,
    onnx.TensorProto.DOUBLE: torch.float64,
    onnx.TensorProto.INT32: torch.int32,
    onnx.TensorProto.INT64: torch.int64,
    onnx.TensorProto.BOOL: torch.bool,
    onnx.TensorProto.UINT8: torch.uint8,
    onnx.TensorProto.INT8: torch.int8,
}


class UnsupportedOnnxModel(ValueError):
    """The graph uses an operator or attribute this interpreter does not implement."""


@dataclass
class _Node:
    op: str
    inputs: list[str]  # "" marks an omitted optional input
    outputs: list[str]
    attrs: dict[str, Any]
    graphs: dict[str, _Graph] = field(default_factory=dict)


@dataclass
class _Graph:
    inputs: list[str]
    outputs: list[str]
    nodes: list[_Node]
    constants: dict[str, str]  # value name -> buffer name in the module
    # Per node: the values this graph's nodes made that nothing after it reads. Dropping them
    # keeps one layer's activations alive instead of the whole network's (GPU memory, batch).
    release: list[list[str]] = field(default_factory=list)

    def reads(self) -> set[str]:
        """Every value this graph's nodes read, its subgraphs' included."""
        names: set[str] = set()
        for node in self.nodes:
            names.update(n for n in node.inputs if n)
            for graph in node.graphs.values():
                names |= graph.reads()
        return names | set(self.outputs)


def _releases(nodes: list[_Node], outputs: list[str]) -> list[list[str]]:
    made = {name for node in nodes for name in node.outputs if name}
    last: dict[str, int] = {}
    for index, node in enumerate(nodes):
        used = {n for n in node.inputs if n}
        for graph in node.graphs.values():
            used |= graph.reads()  # outer values a Loop/If body reads stay alive until it ends
        for name in used & made:
            last[name] = index
    release: list[list[str]] = [[] for _ in nodes]
    for index, node in enumerate(nodes):  # made but never read: drop at once
        for name in node.outputs:
            if name and name not in last and name not in outputs:
                last[name] = index
    for name, index in last.items():
        if name not in outputs:
            release[index].append(name)
    return release


def _ints(x: Tensor | None) -> list[int]:
    return [] if x is None else [int(v) for v in x.reshape(-1).tolist()]


class OnnxModule(torch.nn.Module):
    """An ONNX model as a torch module: `module(x=tensor)` returns the graph outputs by name."""

    def __init__(self, model: onnx.ModelProto) -> None:
        super().__init__()
        self.opset = next(
            (o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13
        )
        self.metadata = {prop.key: prop.value for prop in model.metadata_props}
        self._buffers_made = 0
        self.graph = self._graph(model.graph)
        self.input_info = _value_info(model.graph.input, set(self.graph.constants))
        self.output_info = _value_info(model.graph.output, set())

    # -- loading ---------------------------------------------------------------------------
    def _buffer(self, array: np.ndarray) -> str:
        name = f"c{self._buffers_made}"
        self._buffers_made += 1
        self.register_buffer(name, torch.from_numpy(np.array(array, copy=True)))
        return name

    def _graph(self, graph: onnx.GraphProto) -> _Graph:
        constants = {
            init.name: self._buffer(numpy_helper.to_array(init)) for init in graph.initializer
        }
        nodes: list[_Node] = []
        for proto in graph.node:
            if proto.op_type == "Constant":
                constants[proto.output[0]] = self._buffer(_constant_value(proto))
                continue
            if proto.op_type not in _OPS and proto.op_type not in ("Loop", "If"):
                raise UnsupportedOnnxModel(f"ONNX operator {proto.op_type} is not implemented")
            attrs: dict[str, Any] = {}
            graphs: dict[str, _Graph] = {}
            for attribute in proto.attribute:
                if attribute.type == onnx.AttributeProto.GRAPH:
                    graphs[attribute.name] = self._graph(attribute.g)
                else:
                    value = helper.get_attribute_value(attribute)
                    attrs[attribute.name] = value.decode() if isinstance(value, bytes) else value
            if proto.op_type == "Split":  # without sizes: equal parts, one per output
                attrs.setdefault("num_outputs", len(proto.output))
            nodes.append(_Node(proto.op_type, list(proto.input), list(proto.output), attrs, graphs))
        outputs = [o.name for o in graph.output]
        return _Graph(
            inputs=[i.name for i in graph.input if i.name not in constants],
            outputs=outputs,
            nodes=nodes,
            constants=constants,
            release=_releases(nodes, outputs),
        )

    # -- running ---------------------------------------------------------------------------
    def forward(self, **inputs: Tensor) -> dict[str, Tensor]:
        env = self._run(self.graph, dict(inputs))
        return {name: env[name] for name in self.graph.outputs}

    def _apply(self, fn: Any, recurse: bool = True) -> OnnxModule:
        self._by_name: dict[str, Tensor] | None = None  # `.to()`/`.half()` replace the buffers
        return super()._apply(fn, recurse)

    def _buffer_map(self) -> dict[str, Tensor]:
        if getattr(self, "_by_name", None) is None:
            self._by_name = dict(self.named_buffers())
        assert self._by_name is not None
        return self._by_name

    def _run(self, graph: _Graph, env: Env) -> Env:
        buffers = self._buffer_map()
        for value, buffer in graph.constants.items():
            env[value] = buffers[buffer]
        for index, node in enumerate(graph.nodes):
            args = _on_one_device([env[name] if name else None for name in node.inputs])
            if node.op == "Loop":
                results = self._loop(node, args, env)
            elif node.op == "If":
                branch = "then_branch" if bool(args[0]) else "else_branch"
                inner = self._run(node.graphs[branch], ChainMap({}, env))
                results = [inner[name] for name in node.graphs[branch].outputs]
            else:
                out = _OPS[node.op](args, node.attrs, self.opset)
                results = list(out) if isinstance(out, list | tuple) else [out]
            for name, result in zip(node.outputs, results, strict=False):
                if name:
                    env[name] = result
            for name in graph.release[index]:
                env.pop(name, None)
        return env

    def _loop(self, node: _Node, args: list[Tensor | None], env: Env) -> list[Tensor]:
        body = node.graphs["body"]
        trip_count, condition, carried = args[0], args[1], list(args[2:])
        max_trips = int(trip_count) if trip_count is not None else math.inf
        keep_going = bool(condition) if condition is not None else True
        n_carried = len(carried)
        scans: list[list[Tensor]] = [[] for _ in body.outputs[1 + n_carried :]]
        iteration = 0
        while keep_going and iteration < max_trips:
            scope: Env = ChainMap({}, env)
            scope[body.inputs[0]] = torch.tensor(iteration, dtype=torch.int64)
            scope[body.inputs[1]] = torch.tensor(keep_going)
            for name, value in zip(body.inputs[2:], carried, strict=True):
                scope[name] = value  # type: ignore[assignment]
            inner = self._run(body, scope)
            keep_going = bool(inner[body.outputs[0]])
            carried = [inner[name] for name in body.outputs[1 : 1 + n_carried]]
            for values, name in zip(scans, body.outputs[1 + n_carried :], strict=True):
                values.append(inner[name])
            iteration += 1
        return [*carried, *(torch.stack(values) for values in scans)]  # type: ignore[list-item]


def _on_one_device(args: list[Tensor | None]) -> list[Tensor | None]:
    """Shape arithmetic stays on the CPU (`Shape` answers there, no device sync per op); where
    it meets device tensors, the CPU side moves over."""
    devices = {a.device for a in args if a is not None}
    if len(devices) < 2:
        return args
    target = next(d for d in devices if d.type != "cpu")
    return [a.to(target) if a is not None and a.device != target else a for a in args]


@dataclass(frozen=True)
class TensorInfo:
    """Name and declared shape of a graph input or output (as onnxruntime's NodeArg)."""

    name: str
    shape: list[int | str]


def _dims(value: onnx.ValueInfoProto) -> list[int | str]:
    return [d.dim_value if d.HasField("dim_value") else d.dim_param
            for d in value.type.tensor_type.shape.dim]  # fmt: skip


def _value_info(values: Sequence[onnx.ValueInfoProto], skip: set[str]) -> list[TensorInfo]:
    return [TensorInfo(v.name, _dims(v)) for v in values if v.name not in skip]


def _constant_value(node: onnx.NodeProto) -> np.ndarray:
    attribute = node.attribute[0]
    value = helper.get_attribute_value(attribute)
    if attribute.name == "value":
        return numpy_helper.to_array(value)
    if attribute.name in ("value_float", "value_floats"):
        return np.array(value, dtype=np.float32)
    if attribute.name in ("value_int", "value_ints"):
        return np.array(value, dtype=np.int64)
    raise UnsupportedOnnxModel(f"Constant with {attribute.name} is not implemented")


def load(path: Path) -> OnnxModule:
    """The model file as a torch module in eval mode, on the CPU."""
    return OnnxModule(onnx.load(str(path))).eval()


# -- operators: (inputs, attributes, opset) -> output(s) ----------------------------------------
Op = Callable[[list[Any], dict[str, Any], int], Tensor | list[Tensor]]
_OPS: dict[str, Op] = {}


def _op(*names: str) -> Callable[[Op], Op]:
    def register(function: Op) -> Op:
        for name in names:
            _OPS[name] = function
        return function

    return register


def _elementwise(function: Callable[..., Tensor]) -> Op:
    return lambda args, attrs, opset: function(*args)


def _divide(a: Tensor, b: Tensor) -> Tensor:
    if a.is_floating_point() or b.is_floating_point():
        return a / b
    return torch.div(a, b, rounding_mode="trunc")  # ONNX integer division truncates


_OPS.update(
    {
        "Add": _elementwise(torch.add),
        "Sub": _elementwise(torch.sub),
        "Mul": _elementwise(torch.mul),
        "Div": _elementwise(_divide),
        "Pow": _elementwise(lambda a, b: torch.pow(a, b.to(a.dtype))),
        "Sqrt": _elementwise(torch.sqrt),
        "Erf": _elementwise(torch.erf),
        "Relu": _elementwise(torch.relu),
        "Sigmoid": _elementwise(torch.sigmoid),
        "Tanh": _elementwise(torch.tanh),
        "HardSwish": _elementwise(F.hardswish),
        "Identity": _elementwise(lambda x: x),
        "Not": _elementwise(torch.logical_not),
        "And": _elementwise(torch.logical_and),
        "Less": _elementwise(torch.lt),
        "Equal": _elementwise(torch.eq),
        "MatMul": _elementwise(torch.matmul),
        "Shape": _elementwise(lambda x: torch.tensor(list(x.shape), dtype=torch.int64)),
        "GlobalAveragePool": _elementwise(
            lambda x: x.mean(dim=tuple(range(2, x.dim())), keepdim=True)
        ),
    }
)


@_op("Min")
def _min(args: list[Tensor], attrs: dict[str, Any], opset: int) -> Tensor:
    result = args[0]
    for other in args[1:]:
        result = torch.minimum(result, other)
    return result


@_op("HardSigmoid")
def _hard_sigmoid(args: list[Tensor], attrs: dict[str, Any], opset: int) -> Tensor:
    alpha, beta = attrs.get("alpha", 0.2), attrs.get("beta", 0.5)
    return torch.clamp(args[0] * alpha + beta, 0.0, 1.0)


@_op("Clip")
def _clip(args: list[Tensor | None], attrs: dict[str, Any], opset: int) -> Tensor:
    x = args[0]
    assert x is not None
    if opset < 11:
        low, high = attrs.get("min"), attrs.get("max")
    else:
        low = None if len(args) < 2 or args[1] is None else args[1].item()
        high = None if len(args) < 3 or args[2] is None else args[2].item()
    return torch.clamp(x, low, high)


@_op("Cast")
def _cast(args: list[Tensor], attrs: dict[str, Any], opset: int) -> Tensor:
    return args[0].to(_DTYPES[attrs["to"]])


@_op("Softmax")
def _softmax(args: list[Tensor], attrs: dict[str, Any], opset: int) -> Tensor:
    x = args[0]
    axis = attrs.get("axis", -1 if opset >= 13 else 1) % max(1, x.dim())
    if opset >= 13 or axis == x.dim() - 1:
        return torch.softmax(x, dim=axis)
    # Before opset 13 the input is seen as 2-D [prod(shape[:axis]), prod(shape[axis:])].
    flat = x.reshape(math.prod(x.shape[:axis]), -1)
    return torch.softmax(flat, dim=1).reshape(x.shape)


def _reduction_axes(args: Sequence[Tensor | None], attrs: dict[str, Any], opset: int) -> list[int]:
    if "axes" in attrs:
        return list(attrs["axes"])
    return _ints(args[1]) if len(args) > 1 else []


def _reduce(function: Callable[..., Tensor]) -> Op:
    def reduce(args: list[Any], attrs: dict[str, Any], opset: int) -> Tensor:
        x = args[0]
        axes = _reduction_axes(args, attrs, opset) or list(range(x.dim()))
        keep = bool(attrs.get("keepdims", 1))
        for axis in sorted((a % x.dim() for a in axes), reverse=True):
            x = function(x, axis, keep)
        return x

    return reduce


_OPS["ReduceMean"] = _reduce(lambda x, axis, keep: x.mean(dim=axis, keepdim=keep))
_OPS["ReduceMax"] = _reduce(lambda x, axis, keep: x.amax(dim=axis, keepdim=keep))
_OPS["ReduceMin"] = _reduce(lambda x, axis, keep: x.amin(dim=axis, keepdim=keep))


@_op("ArgMax")
def _argmax(args: list[Tensor], attrs: dict[str, Any], opset: int) -> Tensor:
    x, axis, keep = args[0], attrs.get("axis", 0), bool(attrs.get("keepdims", 1))
    if attrs.get("select_last_index", 0):
        flipped = torch.flip(x, dims=[axis])
        return x.shape[axis] - 1 - torch.argmax(flipped, dim=axis, keepdim=keep)
    return torch.argmax(x, dim=axis, keepdim=keep)


# -- convolution and pooling ------------------------------------------------------------------
def _same_pads(
    size: Sequence[int], kernel: Sequence[int], strides: Sequence[int], dilations: Sequence[int],
    upper: bool,
) -> list[int]:  # fmt: skip
    """F.pad's order (last dim first) for auto_pad SAME_UPPER/SAME_LOWER."""
    pads: list[int] = []
    for n, k, s, d in reversed(list(zip(size, kernel, strides, dilations, strict=True))):
        total = max(0, (math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n)
        small, big = total // 2, total - total // 2
        pads += [small, big] if upper else [big, small]
    return pads


def _padded(
    x: Tensor, attrs: dict[str, Any], kernel: Sequence[int], value: float = 0.0
) -> tuple[Tensor, list[int]]:
    """The input padded explicitly where pads differ per side; else the symmetric pads."""
    spatial = x.dim() - 2
    strides = attrs.get("strides", [1] * spatial)
    dilations = attrs.get("dilations", [1] * spatial)
    auto_pad = attrs.get("auto_pad", "NOTSET")
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        pads = _same_pads(x.shape[2:], kernel, strides, dilations, auto_pad == "SAME_UPPER")
        return F.pad(x, pads, value=value), [0] * spatial
    begin_end = attrs.get("pads", [0] * 2 * spatial)
    begins, ends = begin_end[:spatial], begin_end[spatial:]
    if begins == ends:
        return x, list(begins)
    pads = [p for b, e in reversed(list(zip(begins, ends, strict=True))) for p in (b, e)]
    return F.pad(x, pads, value=value), [0] * spatial


_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


@_op("Conv")
def _conv(args: list[Tensor | None], attrs: dict[str, Any], opset: int) -> Tensor:
    x, weight = args[0], args[1]
    assert x is not None and weight is not None
    bias = args[2] if len(args) > 2 else None
    kernel = attrs.get("kernel_shape", list(weight.shape[2:]))
    x, pads = _padded(x, attrs, kernel)
    spatial = x.dim() - 2
    return _CONV[spatial](
        x, weight, bias,
        stride=attrs.get("strides", [1] * spatial),
        padding=pads,
        dilation=attrs.get("dilations", [1] * spatial),
        groups=attrs.get("group", 1),
    )  # fmt: skip


@_op("ConvTranspose")
def _conv_transpose(args: list[Tensor | None], attrs: dict[str, Any], opset: int) -> Tensor:
    x, weight = args[0], args[1]
    assert x is not None and weight is not None
    bias = args[2] if len(args) > 2 else None
    spatial = x.dim() - 2
    pads = attrs.get("pads", [0] * 2 * spatial)
    if attrs.get("auto_pad", "NOTSET") != "NOTSET" or pads[:spatial] != pads[spatial:]:
        raise UnsupportedOnnxModel("ConvTranspose with asymmetric or automatic pads")
    return _CONV_T[spatial](
        x, weight, bias,
        stride=attrs.get("strides", [1] * spatial),
        padding=pads[:spatial],
        output_padding=attrs.get("output_padding", [0] * spatial),
        groups=attrs.get("group", 1),
        dilation=attrs.get("dilations", [1] * spatial),
    )  # fmt: skip


@_op("BatchNormalization")
def _batch_norm(args: list[Tensor], attrs: dict[str, Any], opset: int) -> Tensor:
    x, scale, bias, mean, var = args[:5]
    return F.batch_norm(x, mean, var, scale, bias, False, 0.0, attrs.get("epsilon", 1e-5))


@_op("MaxPool")
def _max_pool(args: list[Tensor], attrs: dict[str, Any], opset: int) -> Tensor:
    kernel = attrs["kernel_shape"]
    x, pads = _padded(args[0], attrs, kernel, value=-math.inf)
    function = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[len(kernel)]
    return function(
        x, kernel, stride=attrs.get("strides", [1] * len(kernel)), padding=pads,
        dilation=attrs.get("dilations", [1] * len(kernel)),
        ceil_mode=bool(attrs.get("ceil_mode", 0)),
    )  # fmt: skip


@_op("AveragePool")
def _average_pool(args: list[Tensor], attrs: dict[str, Any], opset: int) -> Tensor:
    kernel = attrs["kernel_shape"]
    include_pad = bool(attrs.get("count_include_pad", 0))
    x, pads = _padded(args[0], attrs, kernel)
    if not include_pad and x is not args[0]:
        raise UnsupportedOnnxModel("AveragePool with asymmetric pads that are not counted")
    function = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[len(kernel)]
    return function(
        x, kernel, stride=attrs.get("strides", [1] * len(kernel)), padding=pads,
        ceil_mode=bool(attrs.get("ceil_mode", 0)), count_include_pad=include_pad,
    )  # fmt: skip


@_op("Resize")
def _resize(args: list[Tensor | None], attrs: dict[str, Any], opset: int) -> Tensor:
    x = args[0]
    assert x is not None
    mode = attrs.get("mode", "nearest")
    transform = attrs.get("coordinate_transformation_mode", "half_pixel")
    scales = args[2] if len(args) > 2 and args[2] is not None and args[2].numel() else None
    sizes = _ints(args[3]) if len(args) > 3 and args[3] is not None else None
    if sizes:
        out_size = sizes[2:]
    else:
        assert scales is not None
        factors = scales.tolist()[2:]
        out_size = [math.floor(n * float(f)) for n, f in zip(x.shape[2:], factors, strict=True)]
    if mode == "nearest" and transform == "asymmetric" and attrs.get("nearest_mode") == "floor":
        # torch's "nearest" is exactly floor(dst * in / out): ONNX's asymmetric floor rounding.
        return F.interpolate(x, size=out_size, mode="nearest")
    if mode == "linear" and transform in ("half_pixel", "align_corners"):
        return F.interpolate(
            x, size=out_size, mode="bilinear" if x.dim() == 4 else "linear",
            align_corners=transform == "align_corners",
        )  # fmt: skip
    raise UnsupportedOnnxModel(f"Resize mode {mode}/{transform} is not implemented")


# -- shapes and indexing ----------------------------------------------------------------------
@_op("Concat")
def _concat(args: list[Tensor], attrs: dict[str, Any], opset: int) -> Tensor:
    parts = [a for a in args if a is not None and (a.numel() or a.dim() > 1)]
    return torch.cat(parts, dim=attrs["axis"])


@_op("Split")
def _split(args: list[Tensor | None], attrs: dict[str, Any], opset: int) -> list[Tensor]:
    x = args[0]
    assert x is not None
    axis = attrs.get("axis", 0)
    sizes = attrs.get("split") or (_ints(args[1]) if len(args) > 1 else [])
    if not sizes:
        return list(torch.tensor_split(x, attrs["num_outputs"], dim=axis))
    return list(torch.split(x, sizes, dim=axis))


@_op("Reshape")
def _reshape(args: list[Tensor], attrs: dict[str, Any], opset: int) -> Tensor:
    x, shape = args[0], _ints(args[1])
    if not attrs.get("allowzero", 0):
        shape = [x.shape[i] if n == 0 else n for i, n in enumerate(shape)]
    return x.reshape(shape)


@_op("Transpose")
def _transpose(args: list[Tensor], attrs: dict[str, Any], opset: int) -> Tensor:
    x = args[0]
    return x.permute(attrs.get("perm", list(reversed(range(x.dim())))))


def _axes(args: Sequence[Tensor | None], attrs: dict[str, Any]) -> list[int] | None:
    if "axes" in attrs:
        return list(attrs["axes"])
    if len(args) > 1 and args[1] is not None:
        return _ints(args[1])
    return None


@_op("Squeeze")
def _squeeze(args: list[Tensor], attrs: dict[str, Any], opset: int) -> Tensor:
    x, axes = args[0], _axes(args, attrs)
    if axes is None:
        return x.squeeze()
    for axis in sorted((a % x.dim() for a in axes), reverse=True):
        x = x.squeeze(axis)
    return x


@_op("Unsqueeze")
def _unsqueeze(args: list[Tensor], attrs: dict[str, Any], opset: int) -> Tensor:
    x, axes = args[0], _axes(args, attrs) or []
    rank = x.dim() + len(axes)
    for axis in sorted(a % rank for a in axes):
        x = x.unsqueeze(axis)
    return x


@_op("Slice")
def _slice(args: list[Tensor | None], attrs: dict[str, Any], opset: int) -> Tensor:
    x = args[0]
    assert x is not None
    if opset < 10:
        starts, ends = attrs["starts"], attrs["ends"]
        axes, steps = attrs.get("axes", list(range(len(starts)))), [1] * len(starts)
    else:
        starts, ends = _ints(args[1]), _ints(args[2])
        axes = _ints(args[3]) if len(args) > 3 and args[3] is not None else list(
            range(len(starts)))  # fmt: skip
        steps = _ints(args[4]) if len(args) > 4 and args[4] is not None else [1] * len(starts)
    index: list[slice] = [slice(None)] * x.dim()
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        n = x.shape[axis]
        if step > 0:
            index[axis % x.dim()] = slice(*slice(start, end, step).indices(n))
            continue
        first, stop, _ = slice(start, end, step).indices(n)
        picked = torch.arange(first, stop, step, device=x.device)
        x = x.index_select(axis % x.dim(), picked)  # torch has no negative-step slicing
    return x[tuple(index)]


@_op("Gather")
def _gather(args: list[Tensor], attrs: dict[str, Any], opset: int) -> Tensor:
    x, indices = args
    axis = attrs.get("axis", 0) % x.dim()
    indices = torch.where(indices < 0, indices + x.shape[axis], indices).to(torch.int64)
    taken = x.index_select(axis, indices.reshape(-1).to(x.device))
    return taken.reshape((*x.shape[:axis], *indices.shape, *x.shape[axis + 1 :]))


@_op("ConstantOfShape")
def _constant_of_shape(args: list[Tensor], attrs: dict[str, Any], opset: int) -> Tensor:
    value = attrs.get("value")
    filler = (
        torch.from_numpy(numpy_helper.to_array(value).copy())
        if value is not None else torch.zeros(1)
    )  # fmt: skip
    return filler.reshape(()).expand(_ints(args[0])).clone().to(args[0].device)


@_op("Range")
def _range(args: list[Tensor], attrs: dict[str, Any], opset: int) -> Tensor:
    start, limit, delta = args
    return torch.arange(start.item(), limit.item(), delta.item(), dtype=start.dtype,
                        device=start.device)  # fmt: skip


@_op("Expand")
def _expand(args: list[Tensor], attrs: dict[str, Any], opset: int) -> Tensor:
    x, shape = args[0], _ints(args[1])
    return x.expand(torch.broadcast_shapes(x.shape, tuple(shape)))


@_op("Tile")
def _tile(args: list[Tensor], attrs: dict[str, Any], opset: int) -> Tensor:
    return args[0].repeat(_ints(args[1]))


@_op("OneHot")
def _one_hot(args: list[Tensor], attrs: dict[str, Any], opset: int) -> Tensor:
    indices, depth, values = args
    n = int(depth.item())
    indices = indices.to(torch.int64)
    indices = torch.where(indices < 0, indices + n, indices)
    hot = F.one_hot(indices, n).to(torch.bool)
    result = torch.where(hot, values[1], values[0])
    axis = attrs.get("axis", -1)
    return result if axis == -1 else result.movedim(-1, axis)


@_op("ScatterElements")
def _scatter_elements(args: list[Tensor], attrs: dict[str, Any], opset: int) -> Tensor:
    x, indices, updates = args
    if attrs.get("reduction", "none") != "none":
        raise UnsupportedOnnxModel("ScatterElements with a reduction")
    axis = attrs.get("axis", 0) % x.dim()
    indices = torch.where(indices < 0, indices + x.shape[axis], indices).to(torch.int64)
    return x.scatter(axis, indices, updates.to(x.dtype))


def run_numpy(module: OnnxModule, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Convenience for tests and tools: numpy in, numpy out, on the module's CPU buffers."""
    with torch.inference_mode():
        outputs = module(**{name: torch.from_numpy(value) for name, value in feeds.items()})
    return {name: value.numpy() for name, value in outputs.items()}
