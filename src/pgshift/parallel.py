"""Spread independent work over the machine's cores with plain ``fork``.

Used where pgshift has much CPU work and nothing to share (``pgshift lint`` over many
files). A forked child already has every module the parent imported, so it starts in a
few milliseconds; it sends its result back with ``marshal`` when the result is plain data
(numbers, strings, tuples, lists, dicts: what ``marshal`` takes), else pickled. The parent works
on the first share itself, so that no core sits idle while it waits.

The result travels in a file in memory (``memfd_create``, Linux) where there is one, else through
a pipe: a child done first writes its megabytes and leaves at once, where through a pipe it
would wait, 64 kB at a time, for the parent to finish its own share and read. The child then
says it is done on a pipe of its own, and the parent reads the result without waiting for the
child's exit (the kernel's teardown of a forked interpreter: 3 ms); the child is reaped later,
on the next call or when this process ends. A lint of 1,000 files has its worker's half 1.5 ms
after the worker's last file, against 7 ms through a pipe and ``waitpid``.

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
    _reap_finished()
    children: list[_Child] = []
    try:
        for share in shares[1:]:
            children.append(_spawn(func, share))
        results: list[R] = [func(shares[0])]
    except BaseException:
        for child in children:
            _reap(child)
        raise
    failure: BaseException | None = None
    for child in children:
        ok, value = _collect(child)
        if not ok and failure is None:
            failure = value
        results.append(value)
    if failure is not None:
        raise failure
    return results


def map_chunks(func: Callable[[Sequence[T]], R], items: Sequence[T], workers: int, size: int) -> list[R]:
    """``[func(chunk) for chunk in chunks]`` for the chunks of *size* items, in order, done by this
    process and ``workers - 1`` forked children, each taking the next chunk when it is free.

    The chunks are handed out on demand (their numbers wait in a pipe, and a read of two bytes
    from it is atomic), so a process slowed down (a machine shared with other work, a chunk of
    long files) does fewer of them, and all end within about a chunk of each other: with fixed
    shares the slowest share would set the time. An exception is raised here as with
    :func:`map_shares`."""
    size = max(1, size)
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    if workers < 2 or len(chunks) < 2 or not can_fork() or len(chunks) > _MAX_CHUNKS:
        return [func(chunk) for chunk in chunks]
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, b"".join(i.to_bytes(2, "little") for i in range(len(chunks))))
    finally:
        os.close(write_fd)      # closed before the fork: an empty pipe then reads as its end

    def take(_) -> dict[int, R]:
        done = {}
        while number := os.read(read_fd, 2):
            i = int.from_bytes(number, "little")
            done[i] = func(chunks[i])
        return done

    try:
        parts = map_shares(take, [()] * min(workers, len(chunks)))
    finally:
        os.close(read_fd)
    merged = {i: result for part in parts for i, result in part.items()}
    return [merged[i] for i in range(len(chunks))]


#: at most this many chunks: their numbers must fit in the pipe's buffer before any is read
_MAX_CHUNKS = 16_384


def together(*calls: Callable[[], R]) -> list[R]:
    """Run independent calls at once: the first here, the others in forked children; their
    results in order (an exception is raised here, as with :func:`map_shares`)."""
    return map_shares(lambda call: call(), calls)


class _Child:
    """A forked worker: its pid, where its result comes back, and (with a file in memory) the pipe
    on which it says the result is all there."""
    __slots__ = ("pid", "data", "done")

    def __init__(self, pid: int, data: int, done: int | None) -> None:
        self.pid, self.data, self.done = pid, data, done


_DONE = b"+"


def _spawn(func, share) -> _Child:
    """Fork a child doing ``func(share)``."""
    memfd = getattr(os, "memfd_create", None)
    if memfd is not None:
        data_read = data_write = memfd("pgshift-share", os.MFD_CLOEXEC)
        done_read, done_write = os.pipe()
    else:
        data_read, data_write = os.pipe()
        done_read = done_write = None
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: do the share, send the outcome, leave without running exit handlers
        code = 0
        try:
            for fd in {data_read, done_read} - {data_write, None}:
                os.close(fd)
            try:
                payload = _packed(True, func(share))
            except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
                payload = _packed_failure(exc)
            view = memoryview(payload)
            while view:
                view = view[os.write(data_write, view):]
            if done_write is not None:
                os.write(done_write, _DONE)
                os.close(done_write)      # now, not in the exit's teardown: the parent reads on at once
        except BaseException:  # noqa: BLE001 - the parent reports a child that sent nothing
            code = 1
        finally:
            os._exit(code)
    if data_read != data_write:
        os.close(data_write)
    if done_write is not None:
        os.close(done_write)
    return _Child(pid, data_read, done_read)


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


def _collect(child: _Child) -> tuple[bool, object]:
    if child.done is None:     # through a pipe: read to its end, which is the child's
        with os.fdopen(child.data, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(child.pid, 0)
        complete = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    else:
        try:
            complete = os.read(child.done, 1) == _DONE      # else it ended before it was done
            data = os.pread(child.data, os.fstat(child.data).st_size, 0) if complete else b""
        finally:
            os.close(child.done)
            os.close(child.data)
        status = 0
        if complete:
            _leave_to_reap(child.pid)
        else:
            _, status = os.waitpid(child.pid, 0)
    if not data or not complete:
        return False, RuntimeError(f"a worker process ended without a result ({_describe(status)})")
    if data[:1] == _MARSHAL:
        return marshal.loads(memoryview(data)[1:])
    import pickle  # noqa: PLC0415

    return pickle.loads(memoryview(data)[1:])  # noqa: S301 - our own child, over our own pipe


#: children that sent their result and are leaving: reaped by the next call, or at this process's exit
_UNREAPED: list[int] = []
_REAPED_AT_EXIT: list[bool] = []     # whether the exit handler is registered (once per process)


def _leave_to_reap(pid: int) -> None:
    if not _REAPED_AT_EXIT:
        import atexit  # noqa: PLC0415

        atexit.register(_reap_finished, True)
        _REAPED_AT_EXIT.append(True)
    _UNREAPED.append(pid)


def reap() -> None:
    """Wait for the children that sent their results to have left (a process about to end with
    ``os._exit``, which runs no exit handler, calls this: its children's time is then its own)."""
    _reap_finished(block=True)


def _reap_finished(block: bool = False) -> None:
    for pid in list(_UNREAPED):
        try:
            done, _ = os.waitpid(pid, 0 if block else os.WNOHANG)
        except ChildProcessError:    # reaped by someone else
            done = pid
        if done:
            _UNREAPED.remove(pid)


def _reap(child: _Child) -> None:
    try:
        for fd in {child.data, child.done} - {None}:
            os.close(fd)
    finally:
        try:
            os.kill(child.pid, 15)
            os.waitpid(child.pid, 0)
        except OSError:
            pass


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit status {os.WEXITSTATUS(status)}"
