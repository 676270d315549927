"""One way to run long work off the GUI thread: a child process (the default) or a thread, same interface.

The work is a picklable `target(outbox, control, *args)`. It sends messages with `outbox.send(obj)` and
obeys commands: `command("stop")` calls `control.stop()` in the worker. The owner drains the messages on
its own timer; the stream ends when the work returns, however it returns, so a child killed by the system
(out of memory, a crash) reads as an end without a result, and `exit_note` says how it ended.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import threading
from collections.abc import Callable
from typing import Any

from editor.training import gcguard

DRAIN_MS = 50
"""How often owners drain a job's messages on the GUI thread."""
WORKER_NICENESS = 5
"""A worker process yields the CPU to the editor when both want it (POSIX only)."""
EXIT_WAIT_S = 2.0
"""How long to wait for a process whose stream ended to be gone, to read its exit code."""


def _child_main(target: Callable, make_control: Callable[[], Any], args: tuple, outbox, commands) -> None:
    """Child process: run the work; the pipe `outbox` closes when the process ends, however it ends."""
    if hasattr(os, "nice"):
        os.nice(WORKER_NICENESS)
    control = make_control()

    def obey() -> None:
        while (command := commands.get()) is not None:
            getattr(control, command)()

    threading.Thread(target=obey, daemon=True, name="deepwire-commands").start()
    _stop_when_editor_ends(control)
    try:
        target(outbox, control, *args)
    finally:
        outbox.close()


def _stop_when_editor_ends(control) -> None:
    """However the editor ends (closed, terminated, crashed), the work stops: on SIGTERM (how an exiting
    editor ends its child) and when the parent process is gone."""
    signal.signal(signal.SIGTERM, lambda _signum, _frame: control.stop())
    parent = mp.parent_process()

    def watch() -> None:
        parent.join()
        control.stop()

    if parent is not None:
        threading.Thread(target=watch, daemon=True, name="deepwire-parent").start()


class ProcessJob:
    """The work in a spawned child process; a crash or kill of the child cannot take the editor down.

    `daemon=False` lets the work start processes of its own (the editor then stops it before exiting).
    """

    def __init__(self, target: Callable, make_control: Callable[[], Any], args: tuple = (), *,
                 name: str = "deepwire-job", daemon: bool = True) -> None:
        ctx = mp.get_context("spawn")
        self._messages, writer = ctx.Pipe(duplex=False)
        self._commands: mp.Queue = ctx.Queue()
        self.process = ctx.Process(target=_child_main, args=(target, make_control, args, writer, self._commands),
                                   daemon=daemon, name=name)
        self.process.start()
        writer.close()  # the child holds the only writing end: its end (a kill included) reads as end of file

    def command(self, name: str) -> None:
        self._commands.put(name)

    def drain(self) -> tuple[list, bool]:
        """(messages so far, True once the work's stream has ended)."""
        out: list = []
        try:
            while self._messages.poll():
                out.append(self._messages.recv())
        except (EOFError, OSError):  # the child closed its end or died (OSError: in the middle of a message)
            return out, True
        return out, not self.process.is_alive() and not self._messages.poll()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the child ends; True when it did."""
        self.process.join(timeout)
        return not self.process.is_alive()

    def exit_note(self, what: str) -> str:
        """How the child ended, for a stream that ended without a result (`what`: "The training process")."""
        self.process.join(EXIT_WAIT_S)
        code = self.process.exitcode
        if code is not None and code < 0:
            why = ", usually by the system when memory runs out" if -code == signal.SIGKILL else ""
            return f"{what} ended unexpectedly: it was killed by {_signal_name(-code)}{why}."
        return f"{what} ended unexpectedly with exit code {code}."


class _QueueOutbox:
    def __init__(self) -> None:
        self.queue: queue.SimpleQueue = queue.SimpleQueue()

    def send(self, message: Any) -> None:
        self.queue.put(message)


class ThreadJob:
    """The work on a thread of the editor (starts faster than a process; no isolation from crashes)."""

    def __init__(self, target: Callable, make_control: Callable[[], Any], args: tuple = (), *,
                 name: str = "deepwire-job") -> None:
        self.control, self._outbox = make_control(), _QueueOutbox()
        gcguard.hold()  # no cyclic GC on the worker thread: it could destroy Qt objects there
        self._thread = threading.Thread(target=self._run, args=(target, args), daemon=True, name=name)
        self._thread.start()

    def _run(self, target: Callable, args: tuple) -> None:
        try:
            target(self._outbox, self.control, *args)
        finally:
            self._outbox.queue.put(_END)
            gcguard.release_from_worker()

    def command(self, name: str) -> None:
        getattr(self.control, name)()

    def drain(self) -> tuple[list, bool]:
        out: list = []
        while True:
            try:
                message = self._outbox.queue.get_nowait()
            except queue.Empty:
                return out, False
            if message is _END:
                return out, True
            out.append(message)

    def wait(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def exit_note(self, what: str) -> str:
        return f"{what} ended without reporting a result."


_END = object()


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
