"""editor/jobs.py: work in a child process streams its messages back, obeys commands, and a child that dies
without finishing is seen as ended with how it ended; the thread job has the same interface."""

from __future__ import annotations

import os
import threading
import time

import pytest

from editor.jobs import ProcessJob, ThreadJob

TIMEOUT_S = 60.0


class Flag(threading.Event):
    def stop(self) -> None:
        self.set()


def count_until_stopped(outbox, control: Flag, start: int) -> None:
    """Send `start`, `start + 1`... until told to stop, then "stopped"."""
    n = start
    while not control.is_set():
        outbox.send(n)
        n += 1
        time.sleep(0.01)
    outbox.send("stopped")


def send_then_exit(outbox, _control, code: int) -> None:
    outbox.send("hello")
    os._exit(code)  # a crash: no result, no clean-up


def drain_until_ended(job) -> list:
    messages, deadline = [], time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        batch, ended = job.drain()
        messages += batch
        if ended:
            return messages
        time.sleep(0.02)
    raise AssertionError("the job did not end")


@pytest.mark.parametrize("kind", [ProcessJob, ThreadJob])
def test_a_job_streams_messages_and_stops_on_command(kind, qapp):  # a thread job keeps GC on the GUI thread
    job = kind(count_until_stopped, Flag, (5,))
    deadline = time.monotonic() + TIMEOUT_S
    first: list = []
    while not first and time.monotonic() < deadline:
        first, _ = job.drain()
        time.sleep(0.02)
    job.command("stop")
    messages = first + drain_until_ended(job)
    assert messages[0] == 5 and messages[-1] == "stopped"
    assert messages[:-1] == list(range(5, 5 + len(messages) - 1)), "in order, none lost"
    assert job.wait(TIMEOUT_S)


def test_a_child_that_exits_without_finishing_is_reported_with_its_exit_code():
    job = ProcessJob(send_then_exit, Flag, (3,))
    assert drain_until_ended(job) == ["hello"], "what was sent before the crash still arrives"
    assert job.process.pid != os.getpid()
    assert job.exit_note("The test process") == "The test process ended unexpectedly with exit code 3."
