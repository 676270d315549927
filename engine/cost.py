"""What each node costs: parameters, FLOPs, activation memory, latency, and the training-memory estimate.

FLOPs come from torch's own `FlopCounterMode`, one counter per node while an fx Interpreter walks the
compiled model, except for recurrent layers (RNN, LSTM, GRU): their fused kernels are invisible to the counter
(CPU's LSTM counts 0), so they are counted by formula (`recurrent_flops`); the tensors autograd keeps for the backward pass are seen through
`saved_tensors_hooks`. Both are counted on a probe batch of a few samples and scaled to the chosen
batch size (every layer's work and saved tensors grow linearly with the batch). The pass runs in training
mode, so torch's fused inference kernels (attention's fast path, which the counter cannot see) stay out. Latency is measured
at the full batch size on the chosen device, in eval mode without gradients.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
from torch import fx, nn
from torch.nn.utils.rnn import PackedSequence
from torch.utils.flop_counter import FlopCounterMode

from engine import finetune
from engine.compile import compile_graph
from engine.device import choose_device
from engine.graph import Graph
from engine.memory import TrainingMemory, backward_peak, optimizer_states, shape_bytes, training_config
from engine.train.config import TrainingConfig
from engine.validate import Validation, validate

PROBE_MAX = 4
"""Samples the counting pass runs (at least 2, so BatchNorm in training mode works)."""
TIMING_REPEATS = 5
"""Timed passes after a warm-up one; each node keeps its fastest (the one least disturbed by other work)."""


@dataclass(frozen=True)
class NodeCost:
    """One node's cost for one batch of the chosen size."""

    params: int
    flops: int
    activation_bytes: int
    """The node's output."""
    saved_bytes: int
    """Tensors autograd keeps from this node until the backward pass reaches it (first keeper counts a shared one)."""
    latency_ms: float | None = None


@dataclass
class CostReport:
    """Per-node costs of a graph at one batch size, their totals and the training-memory estimate."""

    batch_size: int
    device: str
    nodes: dict[str, NodeCost] = field(default_factory=dict)
    memory: TrainingMemory | None = None

    def total(self, key: str) -> float:
        return sum(getattr(c, key) or 0 for c in self.nodes.values())

    def biggest(self, key: str, n: int = 3) -> list[str]:
        """Ids of the `n` nodes with the largest `key` (e.g. 'flops', 'saved_bytes'), largest first."""
        ranked = sorted(self.nodes, key=lambda nid: getattr(self.nodes[nid], key) or 0, reverse=True)
        return [nid for nid in ranked[:n] if (getattr(self.nodes[nid], key) or 0) > 0]

    def share(self, nid: str, key: str) -> float:
        """The node's `key` as a share (0..1) of the largest node's: the canvas heat colouring."""
        top = max((getattr(c, key) or 0 for c in self.nodes.values()), default=0)
        value = getattr(self.nodes[nid], key) or 0 if nid in self.nodes else 0
        return value / top if top else 0.0


def analyse(graph: Graph, batch_size: int | None = None, device: str | torch.device | None = None,
            latency: bool = True, validation: Validation | None = None, seed: int = 0) -> CostReport:
    """The cost of every node of a valid graph (GraphError otherwise) at `batch_size` (default: the project's)."""
    cfg = training_config(graph)
    batch = int(batch_size or cfg.batch_size)
    dev = choose_device(str(device) if device is not None else cfg.device)
    validation = validation or validate(graph)
    model = compile_graph(graph, validation=validation)
    ids = _call_ids(model, validation)
    probe = max(2, min(batch, PROBE_MAX))
    gen = torch.Generator().manual_seed(seed)
    counts = _Counter(model, ids).count(_inputs(graph, validation, probe, gen))
    report = CostReport(batch, str(dev))
    for nid in ids:
        flops, out_bytes, saved = counts[nid]
        report.nodes[nid] = NodeCost(validation.param_counts.get(nid, 0), flops * batch // probe,
                                     out_bytes * batch // probe, saved * batch // probe)
    if latency:
        times = _Timer(model.to(dev).eval(), ids, dev).time(
            tuple(x.to(dev) for x in _inputs(graph, validation, batch, gen)))
        report.nodes = {nid: _with_latency(c, times.get(nid)) for nid, c in report.nodes.items()}
    report.memory = _memory(model, cfg, report, ids, validation, graph, batch)
    return report


def _with_latency(cost: NodeCost, ms: float | None) -> NodeCost:
    return NodeCost(cost.params, cost.flops, cost.activation_bytes, cost.saved_bytes, ms)


def _call_ids(model: fx.GraphModule, validation: Validation) -> list[str]:
    """Graph node ids in the order of the model's call_module nodes (compile emits them in topological order)."""
    targets = model.deepwire_targets
    return [nid for nid in validation.order if nid in targets]


def _inputs(graph: Graph, validation: Validation, batch: int, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
    """A random batch for each Input node: normal floats, or token id 0 for integer inputs."""
    out = []
    for node in graph.input_nodes():
        shape = (batch, *validation.shapes[node.id][1:])
        if validation.dtypes.get(node.id, "float32").startswith("int"):
            out.append(torch.zeros(shape, dtype=torch.int64))
        else:
            out.append(torch.randn(shape, generator=gen))
    return tuple(out)


class _Counter(fx.Interpreter):
    """Runs the model once, counting each call_module node's FLOPs, output bytes and newly saved tensors."""

    def __init__(self, model: fx.GraphModule, ids: list[str]) -> None:
        super().__init__(model)
        calls = [n for n in model.graph.nodes if n.op == "call_module"]
        self.ids = dict(zip(calls, ids, strict=True))
        self.counts: dict[str, tuple[int, int, int]] = {}
        self.seen: set[int] = set()

    def count(self, inputs: tuple[torch.Tensor, ...]) -> dict[str, tuple[int, int, int]]:
        model = self.module
        self.seen = {p.untyped_storage().data_ptr() for p in model.parameters()}
        self.seen |= {x.untyped_storage().data_ptr() for x in inputs}
        was_training = model.training
        model.train()
        try:
            with torch.enable_grad():
                self.run(*inputs)
        finally:
            model.train(was_training)
        return self.counts

    def run_node(self, n: fx.Node):
        nid = self.ids.get(n)
        if nid is None:
            return super().run_node(n)
        saved = [0]

        def pack(t: torch.Tensor) -> torch.Tensor:
            storage = t.untyped_storage()
            if storage.data_ptr() not in self.seen:
                self.seen.add(storage.data_ptr())
                saved[0] += storage.nbytes()
            return t

        with FlopCounterMode(display=False) as counter, torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), \
                _RecurrentCount(self.module.get_submodule(n.target), counter) as recurrent:
            out = super().run_node(n)
        self.counts[nid] = (counter.get_total_flops() + recurrent.correction, _nbytes(out), saved[0])
        return out


GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}
"""Gate matrices per recurrent cell: each multiplies both the step's input and the previous hidden state."""


def recurrent_flops(rnn: nn.RNNBase, x: torch.Tensor | PackedSequence) -> int:
    """FLOPs of `rnn` on input `x`, in FlopCounterMode's convention (a multiply-add is 2): per time step, sample,
    layer and direction, the gate matrices times the input and times the hidden state (and an LSTM's
    projection); the element-wise gate arithmetic is not counted, as torch's counter does not count it."""
    if isinstance(x, PackedSequence):
        steps = x.data.shape[0]  # time steps summed over the batch
    elif x.dim() == 2:  # one unbatched sequence
        steps = x.shape[0]
    else:
        steps = x.shape[0] * x.shape[1]
    gates, hidden, proj = GATES[rnn.mode], rnn.hidden_size, getattr(rnn, "proj_size", 0)
    out, directions = proj or hidden, 2 if rnn.bidirectional else 1
    per_step = 0
    for layer in range(rnn.num_layers):
        inputs = rnn.input_size if layer == 0 else out * directions
        per_step += 2 * gates * hidden * (inputs + out) + (2 * hidden * proj if proj else 0)
    return steps * directions * per_step


class _RecurrentCount:
    """While a module runs under `counter`: what the counter saw inside its recurrent layers, replaced by
    `recurrent_flops` (`correction` is what to add to the counter's total)."""

    def __init__(self, module: nn.Module, counter: FlopCounterMode) -> None:
        self.rnns = [m for m in module.modules() if isinstance(m, nn.RNNBase)]
        self.counter = counter
        self.correction = 0
        self._hooks: list = []
        self._before: list[int] = []

    def __enter__(self) -> _RecurrentCount:
        for rnn in self.rnns:
            self._hooks.append(rnn.register_forward_pre_hook(self._pre))
            self._hooks.append(rnn.register_forward_hook(self._post))
        return self

    def _pre(self, rnn: nn.RNNBase, args: tuple) -> None:
        self._before.append(self.counter.get_total_flops())

    def _post(self, rnn: nn.RNNBase, args: tuple, output) -> None:
        seen = self.counter.get_total_flops() - self._before.pop()
        self.correction += recurrent_flops(rnn, args[0]) - seen

    def __exit__(self, *exc) -> None:
        for hook in self._hooks:
            hook.remove()


class _Timer(fx.Interpreter):
    """Times each call_module node on the device: the fastest of a few passes, after a warm-up pass."""

    def __init__(self, model: fx.GraphModule, ids: list[str], device: torch.device) -> None:
        super().__init__(model)
        calls = [n for n in model.graph.nodes if n.op == "call_module"]
        self.ids = dict(zip(calls, ids, strict=True))
        self.sync = torch.cuda.synchronize if device.type == "cuda" else (
            torch.mps.synchronize if device.type == "mps" else (lambda: None))
        self.times: dict[str, float] = {}

    def time(self, inputs: tuple[torch.Tensor, ...]) -> dict[str, float]:
        best: dict[str, float] = {}
        with torch.no_grad():
            for i in range(TIMING_REPEATS + 1):
                self.times = {}
                self.run(*inputs)
                if i:
                    best = {k: min(v, best.get(k, math.inf)) for k, v in self.times.items()}
        return best

    def run_node(self, n: fx.Node):
        nid = self.ids.get(n)
        if nid is None:
            return super().run_node(n)
        self.sync()
        start = time.perf_counter()
        out = super().run_node(n)
        self.sync()
        self.times[nid] = (time.perf_counter() - start) * 1000
        return out


def _nbytes(value) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, tuple | list) and value and isinstance(value[0], torch.Tensor):
        return _nbytes(value[0])
    return 0


def _memory(model: fx.GraphModule, cfg: TrainingConfig, report: CostReport, ids: list[str],
            validation: Validation, graph: Graph, batch: int) -> TrainingMemory:
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    frozen = finetune.frozen_ids(graph)  # frozen nodes get neither gradients nor optimizer state
    trained = {id(p): p for nid, target in model.deepwire_targets.items() if nid not in frozen
               for p in model.get_submodule(target).parameters()}
    trainable = sum(p.numel() * p.element_size() for p in trained.values())
    in_bytes = {nid: sum(report.nodes[e.src].activation_bytes for e in graph.incoming(nid) if e.src in report.nodes)
                for nid in ids}
    inputs = sum(shape_bytes(validation.shapes[n.id], validation.dtypes.get(n.id, "float32"), batch)
                 for n in graph.input_nodes())
    steps = [(report.nodes[nid].saved_bytes, report.nodes[nid].activation_bytes, in_bytes[nid]) for nid in ids]
    return TrainingMemory(weights, trainable, trainable * optimizer_states(cfg), backward_peak(steps), inputs)


def format_flops(n: float) -> str:
    for unit in ("", "K", "M", "G", "T"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}FLOP" if not unit else f"{n:.1f} {unit}FLOP"
        n /= 1000
    return f"{n:.1f} PFLOP"
