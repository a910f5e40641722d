"""Spread independent work over the machine's cores with plain ``fork``.

Used where pgshift has much CPU work and nothing to share (``pgshift lint`` over many
files). A forked child already has every module the parent imported, so it starts in a
few milliseconds; it sends its result back through a pipe, pickled. The parent works on
the first share itself, so that no core sits idle while it waits.

Falls back to running everything in this process where forking is not safe: no ``fork``
(Windows), or other threads running (a child would inherit their locks held).

``pickle`` is imported when a child is first forked: a run that never forks does not load it.
"""
from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def workers_available(limit: int = 8) -> int:
    """How many processes may work at once here: the cores this process may use, at most *limit*."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, limit))


def can_fork() -> bool:
    return hasattr(os, "fork") and sys.platform != "win32" and threading.active_count() == 1


def split(items: Sequence[T], parts: int) -> list[Sequence[T]]:
    """*items* in at most *parts* contiguous shares of nearly equal size, in order."""
    parts = max(1, min(parts, len(items)))
    size, extra = divmod(len(items), parts)
    out, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        out.append(items[start:end])
        start = end
    return out


def map_shares(func: Callable[[Sequence[T]], R], shares: Sequence[Sequence[T]]) -> list[R]:
    """``[func(share) for share in shares]``, the shares after the first in forked children.

    An exception in a child is raised here, as if the call had run in this process (the
    first one in share order wins). Without fork, everything runs here, in order.
    """
    if len(shares) < 2 or not can_fork():
        return [func(share) for share in shares]
    children: list[tuple[int, int]] = []
    try:
        for share in shares[1:]:
            children.append(_spawn(func, share))
        results: list[R] = [func(shares[0])]
    except BaseException:
        for pid, fd in children:
            _reap(pid, fd)
        raise
    failure: BaseException | None = None
    for pid, fd in children:
        ok, value = _collect(pid, fd)
        if not ok and failure is None:
            failure = value
        results.append(value)
    if failure is not None:
        raise failure
    return results


def together(*calls: Callable[[], R]) -> list[R]:
    """Run independent calls at once: the first here, the others in forked children; their
    results in order (an exception is raised here, as with :func:`map_shares`)."""
    return map_shares(lambda call: call(), calls)


def _spawn(func, share) -> tuple[int, int]:
    import pickle  # noqa: PLC0415 - here, before the fork: the child has it loaded

    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: do the share, send the outcome, leave without running exit handlers
        code = 0
        try:
            os.close(read_fd)
            try:
                payload = pickle.dumps((True, func(share)), protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
                payload = _pickled_failure(exc)
            with os.fdopen(write_fd, "wb") as out:
                out.write(payload)
        except BaseException:  # noqa: BLE001 - the parent reports a child that sent nothing
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    return pid, read_fd


def _pickled_failure(exc: BaseException) -> bytes:
    import pickle  # noqa: PLC0415

    try:
        return pickle.dumps((False, exc), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - an exception that cannot be pickled travels as its text
        return pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))


def _collect(pid: int, fd: int) -> tuple[bool, object]:
    import pickle  # noqa: PLC0415

    with os.fdopen(fd, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if not data:
        return False, RuntimeError(f"a worker process ended without a result ({_describe(status)})")
    return pickle.loads(data)  # noqa: S301 - our own child, over our own pipe


def _reap(pid: int, fd: int) -> None:
    try:
        os.close(fd)
    finally:
        try:
            os.kill(pid, 15)
            os.waitpid(pid, 0)
        except OSError:
            pass


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit status {os.WEXITSTATUS(status)}"
