"""The sandbox: pre-started worker processes with time and memory caps.

A worker (``cms.extraction.worker``) is a separate process with its address space capped; a
request that runs past its timeout gets the worker's whole process group killed (Tesseract
included). So a hostile or broken file can fail its own processing but can neither hang nor
exhaust the process that asked for it. Starting a Python process with pdfium costs ~0.4 s, so
workers are started ahead and reused: a worker is retired after ``max_jobs`` files, or at once
after any timeout, crash or unexpected error, and a retired worker's replacement is started
immediately (after a failure, on the next request instead).

One pool per (command, memory cap, size, max_jobs), created on first use in each process (a
forked web worker gets its own); every worker is stopped when the process exits.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

from cms.extraction.base import ExtractionError

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


class _Died(Exception):
    pass


class _TimedOut(Exception):
    pass


def worker_command(max_memory_mb: int) -> list[str]:
    """A worker's command line (a seam the time-limit tests replace with a slow command)."""
    return [sys.executable, "-m", "cms.extraction.worker", str(max_memory_mb)]


class Worker:
    def __init__(self, command: list[str]):
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=PROJECT_ROOT,
            start_new_session=True,  # its own process group, so a kill reaches its children
        )
        self.jobs = 0

    def alive(self) -> bool:
        return self.process.poll() is None

    def call(self, request: dict, *, timeout: float) -> dict:
        try:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError) as error:
            raise _Died from error
        return json.loads(self._read_line(time.monotonic() + timeout))

    def _read_line(self, deadline: float) -> bytes:
        stream = self.process.stdout.fileno()
        chunks: list[bytes] = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _TimedOut
            ready, _, _ = select.select([stream], [], [], left)
            if not ready:
                continue
            chunk = os.read(stream, 1 << 20)
            if not chunk:
                raise _Died
            chunks.append(chunk)
            if chunk.endswith(b"\n"):
                return b"".join(chunks)

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        self._close_pipes()

    def stop(self) -> None:
        """Ask the worker to finish (its input closes); kill it if it does not."""
        try:
            self.process.stdin.close()
            self.process.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()
            return
        self._close_pipes()

    def _close_pipes(self) -> None:
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                pipe.close()
            except OSError:
                pass


class Pool:
    def __init__(self, command: list[str], *, size: int, max_jobs: int):
        self.command = command
        self.size = max(1, size)
        self.max_jobs = max(1, max_jobs)
        self._idle: deque[Worker] = deque()
        self._busy: set[Worker] = set()
        self._lock = threading.Condition()
        self._idle.append(Worker(command))

    def run(self, request: dict, *, timeout: float, max_memory_mb: int) -> dict:
        """Send ``request`` to a worker and return its answer; ExtractionError when the worker
        is killed for its time or dies (its memory cap, a crash in a library)."""
        worker = self._acquire()
        try:
            answer = worker.call(request, timeout=timeout)
        except _TimedOut as error:
            self._discard(worker)
            raise ExtractionError(
                f"Processing took longer than {timeout:g} seconds and was stopped."
            ) from error
        except (_Died, ValueError) as error:
            self._discard(worker)
            raise ExtractionError(
                "Processing stopped unexpectedly (it may have needed more than "
                f"{max_memory_mb} MB of memory); the file could not be read."
            ) from error
        worker.jobs += 1
        if answer.get("recycle"):
            self._discard(worker)
        elif worker.jobs >= self.max_jobs:
            self._retire(worker)
        else:
            self._release(worker)
        return answer

    def _acquire(self) -> Worker:
        with self._lock:
            while True:
                while self._idle:
                    worker = self._idle.popleft()
                    if worker.alive():
                        self._busy.add(worker)
                        return worker
                    worker.kill()
                if len(self._busy) < self.size:
                    worker = Worker(self.command)
                    self._busy.add(worker)
                    return worker
                self._lock.wait()

    def _release(self, worker: Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
            self._idle.append(worker)
            self._lock.notify()

    def _retire(self, worker: Worker) -> None:
        """Replace a worker that did its share with a fresh one started now."""
        worker.stop()
        with self._lock:
            self._busy.discard(worker)
            self._idle.append(Worker(self.command))
            self._lock.notify()

    def _discard(self, worker: Worker) -> None:
        """Kill a worker after a failure; its replacement starts with the next request."""
        worker.kill()
        with self._lock:
            self._busy.discard(worker)
            self._lock.notify()

    def close(self) -> None:
        with self._lock:
            idle, busy = list(self._idle), list(self._busy)
            self._idle.clear()
        for worker in idle:
            worker.stop()
        for worker in busy:
            worker.kill()


_pools: dict[tuple, Pool] = {}
_pools_lock = threading.Lock()
_owner_pid = os.getpid()


def pool_for(max_memory_mb: int, *, size: int, max_jobs: int) -> Pool:
    """The pool for these settings in this process, started on first use."""
    global _owner_pid
    command = worker_command(max_memory_mb)
    key = (tuple(command), max_memory_mb, size, max_jobs)
    with _pools_lock:
        if _owner_pid != os.getpid():  # forked: the parent's workers are not ours
            _pools.clear()
            _owner_pid = os.getpid()
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = Pool(command, size=size, max_jobs=max_jobs)
        return pool


@atexit.register
def close_pools() -> None:
    with _pools_lock:
        pools = list(_pools.values()) if _owner_pid == os.getpid() else []
        _pools.clear()
    for pool in pools:
        pool.close()
