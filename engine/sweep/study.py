"""The Optuna study behind a sweep: storage, samplers, the grid queue and a lock that makes claims exact.

Workers share one storage. Claiming a trial (checking the budget, then `ask`) happens under a lock:
for SQLite a file lock next to the database (SQLite lacks SELECT ... FOR UPDATE, so Optuna's own
claim of a queued trial can race there); other databases rely on Optuna's row locks. A grid sweep
queues every grid point once when the study is created, so workers pop distinct points.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import optuna
from optuna.trial import TrialState

from engine.runs import slug
from engine.sweep.config import SweepConfig, SweepError

SPACE_ATTR = "deepwire_space"
STOPPED_ATTR = "stopped"
_CLAIMED = (TrialState.RUNNING, TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

optuna.logging.set_verbosity(optuna.logging.WARNING)


def default_storage(runs_dir: Path) -> str:
    """SQLite file `sweeps.db` in the project's runs folder."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(runs_dir / 'sweeps.db').resolve()}"


def study_name(config: SweepConfig, project_name: str) -> str:
    return config.name or slug(project_name)


def sqlite_path(url: str) -> Path | None:
    """The database file of a `sqlite:///` URL (None for other databases or in-memory SQLite)."""
    if not url.startswith("sqlite:///") or url in ("sqlite:///", "sqlite:///:memory:"):
        return None
    return Path(url.removeprefix("sqlite:///"))


@contextlib.contextmanager
def storage_lock(url: str) -> Iterator[None]:
    """Exclusive across processes for SQLite storages; a no-op for server databases."""
    path = sqlite_path(url)
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.lock", "a+b") as fh:
        if fcntl is not None:
            fcntl.flock(fh, fcntl.LOCK_EX)
        else:
            msvcrt.locking(fh.fileno(), msvcrt.LK_LOCK, 1)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(fh, fcntl.LOCK_UN)
            else:
                msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)


def make_storage(url: str) -> optuna.storages.RDBStorage:
    """Open the storage; for SQLite under the file lock (first use creates tables) and in WAL mode,
    so readers (reports, the editor) never block the workers."""
    kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    try:
        with storage_lock(url):
            storage = optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
            if sqlite_path(url) is not None:
                with storage.engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        return storage
    except Exception as exc:  # noqa: BLE001  SQLAlchemy/driver errors vary by database
        raise SweepError(f"cannot open sweep storage {url}: {exc}") from None


def open_study(config: SweepConfig, url: str, name: str, worker: int = 0) -> optuna.Study:
    """Create or load the study; the first creator records the search space and queues grid points."""
    storage = make_storage(url)
    with storage_lock(url):
        study = optuna.create_study(storage=storage, study_name=name, direction=config.direction,
                                    load_if_exists=True)
        stored = study.user_attrs.get(SPACE_ATTR)
        if stored is None:
            study.set_user_attr(SPACE_ATTR, config.space_dict())
            if config.sampler == "grid":
                grid = config.grid()
                for combo in itertools.product(*grid.values()):
                    study.enqueue_trial(dict(zip(grid, combo, strict=True)))
        elif stored != config.space_dict():
            raise SweepError(f"the sweep '{name}' in {url} was started with another search space, objective or "
                             "sampler; set sweep.name to start a new sweep (or restore the old settings)")
        existing = len(study.get_trials(deepcopy=False))
    return optuna.load_study(study_name=name, storage=storage, sampler=make_sampler(config, worker, existing),
                             pruner=make_pruner(config))


def make_sampler(config: SweepConfig, worker: int, existing: int) -> optuna.samplers.BaseSampler:
    """Seeded per worker and per history length, so parallel or resumed workers do not repeat draws."""
    seed = config.seed + 1000 * worker + existing
    if config.sampler == "tpe":
        startup = max(2, min(10, (config.trials or 30) // 3))
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup)
    return optuna.samplers.RandomSampler(seed=seed)


def make_pruner(config: SweepConfig) -> optuna.pruners.BasePruner:
    if not config.pruning:
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)


def claimed_count(study: optuna.Study) -> int:
    """Trials that count against the budget: running or finished, except ones the user stopped."""
    return sum(1 for t in study.get_trials(deepcopy=False, states=_CLAIMED) if not t.user_attrs.get(STOPPED_ATTR))


def claim_trial(study: optuna.Study, config: SweepConfig, url: str) -> optuna.Trial | None:
    """The next trial to run, or None when the budget is spent or the grid is done."""
    with storage_lock(url):
        if config.trials is not None and claimed_count(study) >= config.trials:
            return None
        if config.sampler == "grid" and not study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            return None
        return study.ask()


def worker_id() -> str:
    return f"{os.uname().nodename if hasattr(os, 'uname') else 'host'}:{os.getpid()}"
