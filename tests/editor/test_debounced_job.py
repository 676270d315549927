"""The background job the live preview and the cost view share: debounced, one at a time, re-run when asked meanwhile."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject

from editor.debounced_job import DebouncedJob

TIMEOUT_MS = 20_000


def make(qtbot, prepare, delay_ms: int = 30):
    owner = QObject()
    results, errors = [], []
    job = DebouncedJob(owner, delay_ms, prepare, results.append, errors.append)
    return owner, job, results, errors


def test_requests_in_quick_succession_make_one_run(qtbot):
    runs = []

    def prepare():
        runs.append(threading.get_ident())
        return lambda: len(runs)

    owner, job, results, _ = make(qtbot, prepare)
    for _ in range(5):
        job.schedule()
    assert job.busy
    qtbot.waitUntil(lambda: not job.busy, timeout=TIMEOUT_MS)
    assert results == [1]
    assert runs == [threading.get_ident()]  # prepared on the GUI thread


def test_a_request_during_a_run_runs_once_more_after_it(qtbot):
    gate = threading.Event()
    worker_threads: list[int] = []
    calls = iter(range(1, 10))

    def prepare():
        n = next(calls)

        def work():
            worker_threads.append(threading.get_ident())
            gate.wait(10)
            return n
        return work

    owner, job, results, _ = make(qtbot, prepare)
    job.start_now()
    job.start_now()
    job.start_now()  # both while the first runs: one more run, not two
    assert job.busy
    gate.set()
    qtbot.waitUntil(lambda: not job.busy, timeout=TIMEOUT_MS)
    assert results == [1, 2]
    assert threading.get_ident() not in worker_threads


def test_nothing_to_run_and_failures(qtbot):
    owner, job, results, errors = make(qtbot, lambda: None)
    job.start_now()
    assert not job.busy and results == [] and errors == []

    def broken():
        raise ValueError("bad graph")

    owner, job, results, errors = make(qtbot, lambda: broken)
    job.schedule()
    qtbot.waitUntil(lambda: not job.busy, timeout=TIMEOUT_MS)
    assert results == [] and [str(e) for e in errors] == ["bad graph"]
