"""Spread independent work over the machine's cores with plain ``fork``.

Used where pgshift has much CPU work and nothing to share (``pgshift lint`` over many
files). A forked child already has every module the parent imported, so it starts in a
few milliseconds; it sends its result back through a pipe, with ``marshal`` when the result is
plain data (numbers, strings, tuples, lists, dicts: what ``marshal`` takes), else pickled. The
parent works on the first share itself, so that no core sits idle while it waits.

Falls back to running everything in this process where forking is not safe: no ``fork``
(Windows), or other threads running (a child would inherit their locks held).

``pickle`` is imported only for a result ``marshal`` cannot send (or a child's exception): a run
whose results are plain data never loads it (2 ms of a lint's start-up).
"""
from __future__ import annotations

import marshal
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
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: do the share, send the outcome, leave without running exit handlers
        code = 0
        try:
            os.close(read_fd)
            try:
                payload = _packed(True, func(share))
            except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
                payload = _packed_failure(exc)
            with os.fdopen(write_fd, "wb") as out:
                out.write(payload)
        except BaseException:  # noqa: BLE001 - the parent reports a child that sent nothing
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    return pid, read_fd


_MARSHAL, _PICKLE = b"M", b"P"


def _packed(ok: bool, value: object) -> bytes:
    """``(ok, value)`` as the bytes a child sends: marshalled when marshal takes it, else pickled."""
    try:
        return _MARSHAL + marshal.dumps((ok, value))
    except ValueError:     # not plain data
        import pickle  # noqa: PLC0415

        return _PICKLE + pickle.dumps((ok, value), protocol=pickle.HIGHEST_PROTOCOL)


def _packed_failure(exc: BaseException) -> bytes:
    import pickle  # noqa: PLC0415

    try:
        return _PICKLE + pickle.dumps((False, exc), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - an exception that cannot be pickled travels as its text
        return _PICKLE + pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))


def _collect(pid: int, fd: int) -> tuple[bool, object]:
    with os.fdopen(fd, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if not data:
        return False, RuntimeError(f"a worker process ended without a result ({_describe(status)})")
    if data[:1] == _MARSHAL:
        return marshal.loads(memoryview(data)[1:])
    import pickle  # noqa: PLC0415

    return pickle.loads(memoryview(data)[1:])  # noqa: S301 - our own child, over our own pipe


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
