"""ONNX export of the encoder, the aggregator and the train step."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper
from torch._decomp import core_aten_decompositions
from torch.fx.experimental.proxy_tensor import make_fx

from .aggregator import AggregatorShape, aggregator_logit, weighted_bce
from .encoder import LowerEncoder

OPSET = 18


def _export(fn: torch.nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str], dynamic=None) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            fn, args, dynamo=True, opset_version=OPSET, input_names=inputs, output_names=outputs,
            dynamic_shapes=dynamic, optimize=True, verbose=False, external_data=False,
        )
    program.save(str(path), external_data=False)


def export_encoder(encoder: LowerEncoder, path: Path) -> None:
    """encoder.onnx with dynamic batch and length, float32 weights."""
    ids = torch.tensor([[101, 2000, 2001, 102], [101, 2003, 102, 0]], dtype=torch.int64)
    mask = (ids != 0).to(torch.int64)
    batch, length = torch.export.Dim("batch", min=1), torch.export.Dim("length", min=1, max=512)
    dynamic = {"input_ids": {0: batch, 1: length}, "attention_mask": {0: batch, 1: length}}
    _export(encoder.eval(), (ids, mask), path, ["input_ids", "attention_mask"], ["embedding"], dynamic)


def store_fp16(src: Path, dst: Path, min_elements: int) -> list[str]:
    """Rewrites float32 initializers of at least `min_elements` as float16 + Cast to float32.

    The graph still computes in float32; only the stored weights lose precision. Returns the names
    of the initializers that were reduced.
    """
    model = onnx.load(str(src))
    graph = model.graph
    reduced, casts, keep = [], [], []
    for init in graph.initializer:
        if init.data_type == onnx.TensorProto.FLOAT and int(np.prod(init.dims)) >= min_elements:
            half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name + ".fp16")
            keep.append(half)
            casts.append(helper.make_node("Cast", [half.name], [init.name], to=onnx.TensorProto.FLOAT))
            reduced.append(init.name)
        else:
            keep.append(init)
    del graph.initializer[:]
    graph.initializer.extend(keep)
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))
    return reduced


class _Aggregator(torch.nn.Module):
    def __init__(self, names: list[str], shape: AggregatorShape) -> None:
        super().__init__()
        self.names, self.shape = names, shape

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        count = len(self.names)
        params = dict(zip(self.names, inputs[:count]))
        history, history_mask, item, side = inputs[count:]
        return aggregator_logit(params, history, history_mask, item, side, self.shape)


def data_input_names() -> list[str]:
    return ["history", "history_mask", "item", "side"]


def export_aggregator(names: list[str], values: list[torch.Tensor], shape: AggregatorShape, path: Path) -> None:
    """aggregator.onnx: parameters and data as inputs, dynamic batch."""
    batch = 3
    example = tuple(values) + example_data(shape, batch, torch.Generator().manual_seed(1))[:4]
    dim = torch.export.Dim("batch", min=1)
    dynamic = tuple([None] * len(values)) + ({0: dim}, {0: dim}, {0: dim}, {0: dim})
    _export(_Aggregator(names, shape), example, path, names + data_input_names(), ["logit"], (dynamic,))


def example_data(shape: AggregatorShape, batch: int, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
    """Random history/mask/item/side/label/weight with ragged histories, an all-empty type and padding rows."""
    t, n, h = shape.types, shape.history, shape.hidden
    history = torch.randn(batch, t, n, h, generator=gen) * 0.3
    lengths = torch.randint(0, n + 1, (batch, t), generator=gen)
    lengths[0, :] = 0
    if t > 1:
        lengths[1, 1] = 0
        lengths[2 % batch, 0] = n
    mask = (torch.arange(n)[None, None, :] < lengths[..., None]).to(torch.float32)
    history = history * mask[..., None]
    item = torch.randn(batch, h, generator=gen) * 0.3
    side = torch.randn(batch, shape.side, generator=gen)
    label = (torch.rand(batch, generator=gen) < 0.5).to(torch.float32)
    weight = torch.ones(batch)
    weight[-max(1, batch // 8):] = 0.0
    return history, mask, item, side, label, weight


def train_step_function(names: list[str], shape: AggregatorShape, logit_fn=aggregator_logit):
    """(*params, history, history_mask, item, side, label, weight) -> (loss, logit, *grads).

    `logit_fn(params, history, history_mask, item, side, shape)` is the forward pass: BAHE's aggregator
    by default, the benchmark's token-level model otherwise.
    """
    count = len(names)

    def loss_and_logit(params: list[torch.Tensor], history, history_mask, item, side, label, weight):
        logit = logit_fn(dict(zip(names, params)), history, history_mask, item, side, shape)
        return weighted_bce(logit, label, weight), logit

    def step(*inputs: torch.Tensor):
        grads, (loss, logit) = torch.func.grad_and_value(loss_and_logit, has_aux=True)(
            list(inputs[:count]), *inputs[count:]
        )
        return (loss, logit, *grads)

    return step


def _replace_empty_permuted(gm: torch.fx.GraphModule) -> None:
    # The ONNX exporter has no translation for aten.empty_permuted, which the decomposed backward of
    # some ops allocates into; every such buffer is fully overwritten, so zeros are equivalent.
    for node in list(gm.graph.nodes):
        if node.op == "call_function" and node.target == torch.ops.aten.empty_permuted.default:
            size = node.args[0]
            with gm.graph.inserting_before(node):
                zeros = gm.graph.call_function(
                    torch.ops.aten.zeros.default, (size,),
                    {"dtype": node.kwargs.get("dtype", torch.float32), "device": torch.device("cpu")},
                )
            node.replace_all_uses_with(zeros)
            gm.graph.erase_node(node)
    gm.graph.lint()
    gm.recompile()


def export_train_step(
    names: list[str], values: list[torch.Tensor], shape: AggregatorShape, batch: int, path: Path,
    logit_fn=aggregator_logit,
) -> None:
    """train_step.onnx with a static batch: forward, weighted BCE and the gradient of every parameter."""
    step = train_step_function(names, shape, logit_fn)
    example = tuple(values) + example_data(shape, batch, torch.Generator().manual_seed(2))
    gm = make_fx(step, decomposition_table=core_aten_decompositions(), tracing_mode="real")(*example)
    _replace_empty_permuted(gm)
    inputs = names + data_input_names() + ["label", "weight"]
    outputs = ["loss", "logit"] + [f"grad.{n}" for n in names]
    _export(gm, example, path, inputs, outputs)
