"""The graph writer both builders use: nodes, initializers and IO, then one atomic save.

Building a graph node by node (the onnxruntime-genai builder's way) needs little more than
unique names, deduplicated constants and a save that never leaves half a file behind. Node and
tensor names follow a path-like scheme ("/model/layers.3/attn/qkv_proj/MatMul",
"/vision/blocks.3/depthwise/Conv") so a profile or a Netron view reads like the model. A graph's
inputs and outputs are declared from the bundle contract (stepdiff.runtime.contract).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from stepdiff.export.quantize_weights import BlockQuantized, packed_zero_points
from stepdiff.runtime.contract import GraphIO
from stepdiff.runtime.files import write_atomic_with

MS_DOMAIN = "com.microsoft"

# protobuf cannot serialize a message over 2 GiB; stay clear of it with some headroom.
_INLINE_LIMIT = 1_800_000_000

# The contract's (numpy) dtype names.
DTYPES = {
    "float32": TensorProto.FLOAT,
    "int64": TensorProto.INT64,
    "int32": TensorProto.INT32,
    "uint8": TensorProto.UINT8,
}


class Graph:
    def __init__(self, name: str, opset: int = 17, producer: str = "stepdiff.export") -> None:
        self.name = name
        self.opset = opset
        self.producer = producer
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[onnx.ValueInfoProto] = []
        self._names: set[str] = set()
        self._consts: dict[tuple, str] = {}
        self._uses_ms = False
        self.initializer_bytes = 0

    def _unique(self, name: str) -> str:
        base, i = name, 1
        while name in self._names:
            name = f"{base}_{i}"
            i += 1
        self._names.add(name)
        return name

    def input(self, name: str, dtype: str, shape: Sequence[int | str]) -> str:
        self._names.add(name)
        self.inputs.append(helper.make_tensor_value_info(name, DTYPES[dtype], list(shape)))
        return name

    def output(self, name: str, dtype: str, shape: Sequence[int | str]) -> None:
        """Declares a graph output; a node makes it by naming it in its `outputs`."""
        self.outputs.append(helper.make_tensor_value_info(name, DTYPES[dtype], list(shape)))

    def declare_io(self, io: GraphIO) -> None:
        """Declares the inputs and outputs the contract gives the graph, in its order."""
        for t in io.inputs:
            self.input(t.name, t.dtype, t.shape)
        for t in io.outputs:
            self.output(t.name, t.dtype, t.shape)

    def initializer(self, array: np.ndarray, name: str) -> str:
        name = self._unique(name)
        tensor = numpy_helper.from_array(np.ascontiguousarray(array), name)
        self.initializers.append(tensor)
        self.initializer_bytes += array.nbytes
        return name

    def const(self, value: float | int | Sequence, dtype: str = "int64") -> str:
        """A small constant, shared by every node that asks for the same value."""
        array = np.asarray(value, dtype=np.dtype(dtype))
        key = (dtype, array.shape, array.tobytes())
        if key not in self._consts:
            label = "_".join(str(v) for v in array.reshape(-1)[:4]).replace("-", "m")
            self._consts[key] = self.initializer(array, f"/const/{dtype}_{label}")
        return self._consts[key]

    def op(
        self,
        op_type: str,
        inputs: Sequence[str],
        name: str,
        outputs: int | Sequence[str] = 1,
        domain: str = "",
        **attrs,
    ) -> str | list[str]:
        """Add one node; returns its output name, or a list of names when it has several.

        `name` is the node's path; its outputs are named after it unless `outputs` gives names.
        """
        node_name = self._unique(name)
        if isinstance(outputs, int):
            outs = [self._unique(f"{node_name}/output_{i}") for i in range(outputs)]
        else:
            outs = [o if o == "" else self._unique(o) for o in outputs]
        if domain == MS_DOMAIN:
            self._uses_ms = True
        self.nodes.append(
            helper.make_node(op_type, list(inputs), outs, name=node_name, domain=domain, **attrs)
        )
        return outs[0] if len(outs) == 1 else outs

    def model(self) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes, self.name, self.inputs, self.outputs, initializer=self.initializers
        )
        opsets = [helper.make_opsetid("", self.opset)]
        if self._uses_ms:
            opsets.append(helper.make_opsetid(MS_DOMAIN, 1))
        model = helper.make_model(graph, opset_imports=opsets, producer_name=self.producer)
        # IR 8 keeps the file loadable by onnxruntime releases back to 1.15.
        model.ir_version = 8
        return model

    def save(self, path: str) -> None:
        """Check the graph, then write it atomically: a reader sees the old file or the whole new
        one."""
        model = self.model()
        large = self.initializer_bytes > _INLINE_LIMIT
        if not large:
            onnx.checker.check_model(model)
            write_atomic_with(path, lambda tmp: onnx.save_model(model, tmp))
            return
        # Over protobuf's limit the weights go to a second file, beside the graph (the checker
        # cannot take such a model in memory). Both are written in a scratch directory, then
        # moved into place: the data first, so the graph never points at missing weights.
        directory = os.path.dirname(os.path.abspath(path)) or "."
        os.makedirs(directory, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=directory, prefix=".onnx-") as tmp:
            tmp_model = os.path.join(tmp, os.path.basename(path))
            data_name = os.path.basename(path) + ".data"
            onnx.save_model(
                model,
                tmp_model,
                save_as_external_data=True,
                all_tensors_to_one_file=True,
                location=data_name,
                size_threshold=1024,
            )
            os.replace(os.path.join(tmp, data_name), os.path.join(directory, data_name))
            os.replace(tmp_model, path)


def matmul_nbits(
    g: Graph,
    x: str,
    qw: BlockQuantized,
    weights: str,
    node: str,
    accuracy_level: int,
    outputs: Sequence[str] | int = 1,
) -> str:
    """x @ W for a block-quantized W (export/quantize_weights.py) as one MatMulNBits node; its
    initializers are named `{weights}.q{bits}`, `{weights}.scales` and `{weights}.zero_points`."""
    inputs = [
        x,
        g.initializer(qw.packed, f"{weights}.q{qw.bits}"),
        g.initializer(qw.scales, f"{weights}.scales"),
    ]
    zp = packed_zero_points(qw)
    if zp is not None:
        inputs.append(g.initializer(zp, f"{weights}.zero_points"))
    return g.op(
        "MatMulNBits",
        inputs,
        node,
        outputs=outputs,
        domain=MS_DOMAIN,
        K=qw.k,
        N=qw.n,
        bits=qw.bits,
        block_size=qw.block_size,
        accuracy_level=accuracy_level,
    )
