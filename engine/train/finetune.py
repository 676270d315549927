"""What fine-tuning does to a run: initial weights loaded (and reported in `init.json`), frozen nodes without
gradients or optimizer state, normalization in frozen parts held in eval mode, learning-rate multipliers
as optimizer parameter groups, and progressive unfreezing from the head back."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from engine import finetune
from engine.errors import TrainingError
from engine.lazy import LazyModule
from engine.lineage import INIT
from engine.runs import write_json
from engine.train.callbacks import Callback
from engine.train.context import TrainContext
from engine.weights import LoadReport, load_into, open_weights

nn = LazyModule("torch.nn")

if TYPE_CHECKING:
    from engine.train.trainer import Trainer


class FineTuning(Callback):
    """Applies the project's fine-tuning settings to a trainer's model: set up before the optimizers exist,
    then a callback that unfreezes on schedule at each epoch's start."""

    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self.graph = trainer.graph.copy()  # progressive unfreezing thaws this copy, never the caller's graph
        self.config = finetune.config(self.graph)
        self.model = trainer.model
        self.targets: dict[str, str] = self.model.deepwire_targets
        self._holds: dict[str, list] = {}
        self.units = finetune.unfreeze_units(self.graph, trainer.validation.param_counts) if self.config.unfreeze_every else []
        self.thawed = 0
        self.report: LoadReport | None = None
        run = trainer.run
        resuming = run is not None and (run.checkpoint_dir / "last.json").exists()
        if self.config.weights and not resuming:
            self.report = self.load_initial_weights()
        self.apply_freeze()

    # ---- initial weights ------------------------------------------------------------------
    def load_initial_weights(self) -> LoadReport:
        """Load `finetune.weights` into the model; the report goes to the run folder's init.json when it starts."""
        source = open_weights(self.config.weights, self.config.which)
        return load_into(self.model, self.graph, source, self.config.mapping)

    def on_fit_start(self, ctx: TrainContext) -> None:
        """Record in the run folder where the initial weights came from (a branch: its parent) and what loaded."""
        if self.report is not None and ctx.run is not None and not (ctx.run.path / INIT).exists():
            write_json(ctx.run.path / INIT, {"weights": str(Path(self.config.weights).resolve()),
                                             "mapping": self.config.mapping, **self.report.to_dict()})

    def describe(self) -> str:
        """'initial weights from X: <report summary>' ('' for fresh weights or a resumed run)."""
        if self.report is None:
            return ""
        where = f"run {Path(self.report.parent_run).name} ({self.report.which})" if self.report.parent_run else \
            self.report.source
        return f"initial weights from {where}: {self.report.summary()}"

    # ---- freezing -------------------------------------------------------------------------
    def frozen_targets(self) -> set[str]:
        frozen = finetune.frozen_ids(self.graph)
        return {self.targets[nid] for nid in frozen if nid in self.targets}

    def apply_freeze(self) -> None:
        """requires_grad off for frozen nodes' weights; their normalization layers keep running statistics."""
        frozen = self.frozen_targets()
        for target in set(self.targets.values()):
            module = self.model.get_submodule(target)
            for p in module.parameters():
                p.requires_grad_(target not in frozen)
            if target in frozen and target not in self._holds:
                self._holds[target] = [m.register_forward_pre_hook(_hold_eval) for m in module.modules()
                                       if isinstance(m, nn.modules.batchnorm._NormBase)]
            elif target not in frozen:
                for handle in self._holds.pop(target, []):
                    handle.remove()

    def counts(self) -> tuple[int, int]:
        """(trainable, frozen) parameters of the model right now."""
        params = {id(p): p for p in self.model.parameters()}.values()
        on = sum(p.numel() for p in params if p.requires_grad)
        return on, sum(p.numel() for p in params) - on

    # ---- optimizer ------------------------------------------------------------------------
    def param_groups(self, params: list[nn.Parameter]) -> list[dict]:
        """`params` as optimizer groups, one per learning-rate multiplier (`lr_mult` in each group). Frozen
        weights are left out unless a schedule will unfreeze them (they then get state only once they train)."""
        mults = finetune.lr_mults(self.graph)
        by_param: dict[int, float] = {}
        for nid, target in self.targets.items():
            for p in self.model.get_submodule(target).parameters():
                by_param.setdefault(id(p), mults.get(nid, 1.0))
        keep_frozen = bool(self.units)
        groups: dict[float, list[nn.Parameter]] = {}
        for p in params:
            if p.requires_grad or keep_frozen:
                groups.setdefault(by_param.get(id(p), 1.0), []).append(p)
        if not any(p.requires_grad for g in groups.values() for p in g) and params and not keep_frozen:
            raise TrainingError("every weight of the network is frozen, so training would change nothing; "
                                "unfreeze at least one node (or its group), e.g. the last layers")
        return [{"params": ps, "lr_mult": mult} for mult, ps in groups.items()]

    # ---- progressive unfreezing -------------------------------------------------------------
    def on_epoch_start(self, ctx: TrainContext) -> None:
        self.epoch_start(ctx.epoch)

    def epoch_start(self, epoch: int) -> list[str]:
        """Before epoch `epoch` (0-based): thaw one more frozen unit every `unfreeze_every` epochs; the ids
        thawed now."""
        if not self.units:
            return []
        due = min(epoch // self.config.unfreeze_every, len(self.units))
        thawed: list[str] = []
        while self.thawed < due:
            thawed += self.units[self.thawed]
            self.thawed += 1
        if thawed:
            finetune.thaw(self.graph, thawed)
            self.apply_freeze()
            trainer = self.trainer
            if trainer.dist.enabled and not trainer.sync_grads:  # DDP registers the trainable weights when built
                from engine.train import distributed

                trainer.net = trainer.step_context.net = distributed.wrap(self.model, trainer.dist, trainer.device)
        return thawed


def _hold_eval(module: nn.Module, _args: tuple) -> None:
    """Forward pre-hook of a frozen normalization layer: always normalize with the stored statistics."""
    module.training = False

