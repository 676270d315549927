"""Task loops: what one training and one evaluation batch do for supervised-style tasks and for GANs.

Supervised covers multiclass / binary / multilabel / regression, the autoencoder (target = input),
next-step prediction and Siamese pairs (two inputs; contrastive loss on a Distance head or BCE on a
similarity head). The GAN convention (two networks in one project) is described in docs/training.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.data.preprocess import invert
from engine.errors import DataError, TrainingError
from engine.graph import Graph, Node
from engine.layers.registry import get_spec
from engine.lazy import LazyModule
from engine.shapes_format import format_shape
from engine.train import losses
from engine.train.metrics import (
    BinaryMetrics,
    ClassMetrics,
    GanMetrics,
    Metrics,
    MultilabelMetrics,
    RegressionMetrics,
)

torch = LazyModule("torch")
fx = LazyModule("torch.fx")
nn = LazyModule("torch.nn")
F = LazyModule("torch.nn.functional")

if TYPE_CHECKING:
    from engine.train.context import StepContext
    from engine.train.detection_task import DetectionTask
    from engine.train.multihead import MultiHeadTask

Batch = tuple[tuple["torch.Tensor", ...], "torch.Tensor"]


def make_task(ctx: StepContext) -> SupervisedTask | GanTask | MultiHeadTask | DetectionTask:
    if ctx.data.task == "gan":
        return GanTask(ctx)
    outputs = ctx.graph.output_nodes()
    if ctx.data.task == "detection":
        from engine.train.detection_task import DetectionTask
        return DetectionTask(ctx, outputs)
    if len(outputs) > 1 or ctx.data.task == "multitask":
        from engine.train.multihead import MultiHeadTask
        return MultiHeadTask(ctx, outputs)
    if len(outputs) != 1:
        raise TrainingError(f"this project has {len(outputs)} Output nodes; task '{ctx.data.task}' trains "
                            "exactly one (only a GAN project has two)")
    return SupervisedTask(ctx, outputs[0])


def _shape(ctx: StepContext, node: Node) -> tuple:
    return tuple(ctx.validation.shapes[node.id] or ())


def check_inputs(ctx: StepContext, nodes: list[Node], shapes: tuple, dtypes: tuple) -> list[tuple | None]:
    """Every Input node must match the dataset's input of the same position.

    Returns, per input, the per-sample shape to view the data as when the two differ only by size-1
    dims (ids of shape (N,) for a token Input of length 1), else None.
    """
    if len(nodes) != len(shapes):
        raise TrainingError(f"the project has {len(nodes)} Input node(s) but the data gives {len(shapes)} input(s) "
                            f"per sample ({ctx.data.source}); add or remove Input nodes to match")
    views: list[tuple | None] = []
    for node, shape, dtype in zip(nodes, shapes, dtypes, strict=True):
        want = _shape(ctx, node)[1:]
        # the data may leave out size-1 dims the Input has (ids (N,) for a length-1 token Input), never add any:
        # (N, 3, 1) read as (N, 3) would hide a data set that is not what the Input says
        squeezed = [d for d in want if d != 1] == [d for d in shape if d != 1] and len(shape) < len(want)
        views.append(tuple(want) if tuple(want) != tuple(shape) and squeezed else None)
        if tuple(want) != tuple(shape) and not squeezed:
            raise TrainingError(f"Input '{node.name}' ({node.id}) has shape {format_shape((None, *want))} but the data "
                                f"gives {format_shape((None, *shape))}; set the Input node's params to match the data")
        int_node = ctx.validation.dtypes.get(node.id, "float32").startswith("int")
        if int_node != dtype.startswith("int"):
            raise TrainingError(f"Input '{node.name}' ({node.id}) expects {'token ids' if int_node else 'numbers'} but "
                                f"the data gives {dtype}; choose the Input kind that matches the data")
    for node, vocab in zip(nodes, ctx.data.vocab_sizes, strict=False):
        _check_vocab(ctx.graph, node, vocab)
    return views


def _check_vocab(graph: Graph, node: Node, vocab: int | None) -> None:
    """An Embedding fed straight by `node` must have a row for every token id of the data."""
    for edge in graph.outgoing(node.id) if vocab else ():
        layer = graph.nodes[edge.dst]
        rows = layer.params.get("num_embeddings", vocab) if layer.type == "Embedding" else vocab
        if rows < vocab:
            raise TrainingError(f"Embedding '{layer.name}' ({layer.id}) has num_embeddings {rows}, but the data's token "
                                f"ids go up to {vocab - 1}; set num_embeddings to at least {vocab}")


class SupervisedTask:
    """One model call per batch; the loss compares its output with the target."""

    def __init__(self, ctx: StepContext, head: Node) -> None:
        self.ctx = ctx
        data, cfg = ctx.data, ctx.config
        views = check_inputs(ctx, ctx.graph.input_nodes(), data.input_shapes, data.input_dtypes)
        self.views = views if any(v is not None for v in views) else None
        self.head = head
        self.out_shape = _shape(ctx, head)
        self.output_task = head.params.get("task", "multiclass")
        src = ctx.graph.incoming(head.id)
        head_type = ctx.graph.nodes[src[0].src].type if src else ""
        chosen = head.params.get("loss", "auto") if head.params.get("loss", "auto") != "auto" else cfg.loss
        self.loss_name = chosen if chosen != "auto" else losses.default_loss(self.output_task, data.task, head_type)
        self.loss_fn = losses.make_loss(self.loss_name, margin=cfg.margin, huber_delta=cfg.huber_delta,
                                        label_smoothing=cfg.label_smoothing, class_weights=self._class_weights())
        self._check_target()
        self.kind = data.task

    def _class_weights(self) -> torch.Tensor | None:
        """training.class_weights 'balanced': weights from the training split's class counts (None otherwise)."""
        data, cfg = self.ctx.data, self.ctx.config
        if cfg.class_weights == "none":
            return None
        if self.loss_name not in ("cross_entropy", "bce"):
            raise TrainingError(f"training.class_weights 'balanced' needs a classification loss (cross_entropy or "
                                f"bce), not {self.loss_name}; set it back to 'none'")
        if data.streaming:
            raise TrainingError("training.class_weights 'balanced' needs the data in memory to count the classes; "
                                "set data.stream to false or class_weights to 'none'")
        ids = data.split("train").target.reshape(-1)
        if self.loss_name == "bce":
            return losses.balanced_weights(torch.bincount(ids.round().long().clamp(0, 1), minlength=2))
        classes = int(self.out_shape[-1])
        return losses.balanced_weights(torch.bincount(ids.long().clamp(0, classes - 1), minlength=classes))

    def _check_target(self) -> None:
        data, out = self.ctx.data, self.out_shape[1:]
        target = tuple(data.target_shape)
        where = f"Output '{self.head.name}' ({self.head.id})"
        if self.loss_name == "cross_entropy":
            if data.task not in ("multiclass", "binary"):
                raise DataError(f"{where} predicts classes, but the targets of {data.source} are {data.task} values "
                                "(decimal numbers, not class ids). If they are class labels, set the data section's "
                                "task to 'multiclass' (or store them as whole numbers); if they are values to "
                                "predict, set the Output's task to 'regression'")
            classes = data.num_classes
            if classes and out[-1] != classes:
                raise TrainingError(f"{where} gives {out[-1]} scores per sample but the data has {classes} classes; "
                                    f"give the last Dense layer {classes} units")
            if tuple(out[:-1]) != tuple(t for t in target if t != 1) and tuple(out[:-1]) != target:
                raise TrainingError(f"{where} has shape {format_shape((None, *out))}, which does not fit class targets "
                                    f"of shape {format_shape((None, *target))}")
        elif self.loss_name != "contrastive" and _numel(out) != _numel(target):
            raise TrainingError(f"{where} has shape {format_shape((None, *out))} but the targets have shape "
                                f"{format_shape((None, *target))}; make the last layer produce the target's shape")

    def new_metrics(self) -> Metrics:
        return head_metrics(self.ctx, self.output_task, self.loss_name, self.out_shape,
                            self.ctx.data.normalization.get("target"))

    def _view(self, inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        if self.views is None:
            return inputs
        return tuple(x if v is None else x.reshape(len(x), *v) for x, v in zip(inputs, self.views, strict=True))

    def probe_inputs(self, inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        return self._view(inputs)

    def train_batch(self, batch: Batch, metrics: Metrics) -> torch.Tensor:
        inputs, target = batch
        inputs = self._view(inputs)
        t = self.ctx
        with t.autocast():
            out = t.net(*inputs)
            loss = self.loss_fn(out, target)
        t.check_finite(loss, inputs)
        t.backward_step(loss, t.optimizers[0])
        metrics.add_loss(loss, len(target))
        metrics.update(out, target)
        return loss

    def eval_batch(self, batch: Batch, metrics: Metrics) -> None:
        inputs, target = batch
        inputs = self._view(inputs)
        with self.ctx.autocast():
            out = self.ctx.model(*inputs)
            loss = self.loss_fn(out, target)
        metrics.add_loss(loss, len(target))
        metrics.update(out, target)

    def param_groups(self) -> list[list[nn.Parameter]]:
        return [list(self.ctx.model.parameters())]


def head_metrics(ctx: StepContext, output_task: str, loss_name: str, out_shape: tuple,
                 target_norm: dict | None) -> Metrics:
    """The metrics of one Output: by its task, in data units when the targets were standardized."""
    device = ctx.device
    if loss_name == "contrastive":
        return BinaryMetrics(device, sign=-1.0, offset=ctx.config.margin / 2)
    if output_task == "multiclass":
        return ClassMetrics(device, int(out_shape[-1]))
    if output_task == "binary":
        return BinaryMetrics(device)
    if output_task == "multilabel":
        return MultilabelMetrics(device, int(out_shape[-1]))
    if not target_norm:
        return RegressionMetrics(device)
    zeros = torch.zeros((1, *out_shape[1:]), device=device)
    shift = invert(target_norm, zeros)
    return RegressionMetrics(device, shift.to(torch.float64), (invert(target_norm, zeros + 1) - shift).to(torch.float64))


def _numel(shape: tuple) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def submodel(gm: fx.GraphModule, index: int) -> fx.GraphModule:
    """The part of a multi-output GraphModule that computes output `index`; submodules are shared, not copied."""
    out_node = next(n for n in gm.graph.nodes if n.op == "output")
    results = out_node.args[0]
    wanted = results[index] if isinstance(results, tuple | list) else results
    needed, stack = set(), [wanted]
    while stack:
        node = stack.pop()
        if node not in needed:
            needed.add(node)
            stack.extend(node.all_input_nodes)
    graph, values = fx.Graph(), {}
    for node in gm.graph.nodes:
        if node in needed:
            values[node] = graph.node_copy(node, lambda n: values[n])
    graph.output(values[wanted])
    return fx.GraphModule(gm, graph)


def _component(graph: Graph, output: Node) -> set[str]:
    seen, stack = set(), [output.id]
    while stack:
        nid = stack.pop()
        if nid not in seen:
            seen.add(nid)
            stack.extend(e.src for e in graph.incoming(nid))
    return seen


class GanTask:
    """Generator and discriminator in one project (see docs/training.md): adversarial BCE updates."""

    kind = "gan"
    loss_name = "bce"

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        graph, cfg = ctx.graph, ctx.config
        outputs = graph.output_nodes()
        if len(outputs) != 2:
            raise TrainingError(f"a GAN project needs two Output nodes (generator and discriminator), found "
                                f"{len(outputs)}; see docs/training.md")
        gen, disc = self._pick(outputs, cfg.gan.generator, cfg.gan.discriminator)
        gen_part, disc_part = _component(graph, gen), _component(graph, disc)
        if gen_part & disc_part:
            raise TrainingError("the generator and discriminator networks of a GAN must not be wired together; "
                                "the trainer feeds the generator's output to the discriminator itself")
        inputs = graph.input_nodes()
        self.noise_node = next((n for n in inputs if n.id in gen_part), None)
        self.real_node = next((n for n in inputs if n.id in disc_part), None)
        if self.noise_node is None or self.real_node is None:
            raise TrainingError("each GAN network needs its own Input node (noise for the generator, a sample for "
                                "the discriminator)")
        fake_shape, real_shape = _shape(ctx, gen)[1:], _shape(ctx, self.real_node)[1:]
        if tuple(fake_shape) != tuple(real_shape):
            raise TrainingError(f"the generator Output '{gen.name}' makes {format_shape((None, *fake_shape))} but the "
                                f"discriminator Input '{self.real_node.name}' takes {format_shape((None, *real_shape))}")
        check_inputs(ctx, [self.real_node], ctx.data.input_shapes[:1], ctx.data.input_dtypes[:1])
        self.latent = tuple(_shape(ctx, self.noise_node)[1:])
        order = [n.id for n in outputs]
        self.generator = submodel(ctx.model, order.index(gen.id))
        self.discriminator = submodel(ctx.model, order.index(disc.id))
        self.order = [n.id for n in inputs]
        self.noise_gen = torch.Generator(device=ctx.device).manual_seed(cfg.seed + 1 + ctx.rank)

    @staticmethod
    def _pick(outputs: list[Node], gen_ref: str | None, disc_ref: str | None) -> tuple[Node, Node]:
        def find(ref: str) -> Node:
            for n in outputs:
                if ref in (n.id, n.name):
                    return n
            raise TrainingError(f"training.gan: no Output node named {ref!r} (Outputs: "
                                f"{', '.join(n.name for n in outputs)})")

        if disc_ref:
            disc = find(disc_ref)
        elif gen_ref:
            disc = next(n for n in outputs if n is not find(gen_ref))
        else:
            binary = [n for n in outputs if n.params.get("task") == "binary"]
            if len(binary) != 1:
                raise TrainingError("cannot tell the GAN's discriminator: exactly one Output should have task "
                                    "'binary', or name it in training.gan.discriminator")
            disc = binary[0]
        gen = find(gen_ref) if gen_ref else next(n for n in outputs if n is not disc)
        if gen is disc:
            raise TrainingError("training.gan: generator and discriminator must be different Output nodes")
        if get_spec(disc.type).role != "output":
            raise TrainingError("training.gan names a node that is not an Output")
        return gen, disc

    def new_metrics(self) -> Metrics:
        return GanMetrics(self.ctx.device)

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn((n, *self.latent), generator=generator or self.noise_gen, device=self.ctx.device)

    def probe_inputs(self, inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        """Full-model inputs (noise and real samples, in Input-node order) for activation summaries."""
        real = inputs[0]
        noise = self.noise(len(real), torch.Generator(device=self.ctx.device).manual_seed(0))
        return tuple(noise if nid == self.noise_node.id else real for nid in self.order)

    def _losses(self, real: torch.Tensor, z: torch.Tensor, detach_fake: bool) -> tuple:
        fake = self.generator(z)
        real_logits = self.discriminator(real)
        fake_logits = self.discriminator(fake.detach() if detach_fake else fake)
        d_loss = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                  + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
        return fake, real_logits, fake_logits, d_loss

    def train_batch(self, batch: Batch, metrics: Metrics) -> torch.Tensor:
        t = self.ctx
        real = batch[0][0]
        opt_g, opt_d = t.optimizers
        for _ in range(t.config.gan.d_steps):
            with t.autocast():
                _, real_logits, fake_logits, d_loss = self._losses(real, self.noise(len(real)), detach_fake=True)
            t.check_finite(d_loss, (real,))
            t.backward_step(d_loss, opt_d)
        with t.autocast():
            fake_out = self.discriminator(self.generator(self.noise(len(real))))
            g_loss = F.binary_cross_entropy_with_logits(fake_out, torch.ones_like(fake_out))
        t.check_finite(g_loss, (real,))
        t.backward_step(g_loss, opt_g)
        metrics.add_loss(d_loss + g_loss, len(real))
        metrics.add_gan(d_loss, g_loss, real_logits, fake_logits)
        return d_loss + g_loss

    def eval_batch(self, batch: Batch, metrics: Metrics) -> None:
        real = batch[0][0]
        gen = torch.Generator(device=self.ctx.device).manual_seed(len(real))
        with self.ctx.autocast():
            fake, real_logits, fake_logits, d_loss = self._losses(real, self.noise(len(real), gen), detach_fake=True)
            g_loss = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
        metrics.add_loss(d_loss + g_loss, len(real))
        metrics.add_gan(d_loss, g_loss, real_logits, fake_logits)

    def param_groups(self) -> list[list[nn.Parameter]]:
        return [list(self.generator.parameters()), list(self.discriminator.parameters())]
