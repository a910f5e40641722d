"""pgshift.parallel: shares done in forked children come back in order, failures too."""
from __future__ import annotations

import os
import signal
import threading

import pytest

from pgshift import parallel
from pgshift.errors import DiscoveryError
from pgshift.model import Location

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


def test_split_keeps_order_and_sizes_nearly_equal():
    shares = parallel.split(list(range(10)), 3)
    assert [list(s) for s in shares] == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert parallel.split([1], 4) == [[1]]


def test_results_come_back_in_share_order_from_other_processes():
    results = parallel.map_shares(lambda share: (os.getpid(), [x * 2 for x in share]),
                                  parallel.split(list(range(9)), 3))
    assert [r[1] for r in results] == [[0, 2, 4], [6, 8, 10], [12, 14, 16]]
    assert results[0][0] == os.getpid()
    assert len({pid for pid, _ in results}) == 3  # the other shares ran in children


def test_an_error_in_a_child_is_raised_here_with_its_location():
    def work(share):
        if 5 in share:
            raise DiscoveryError("m/5.sql is not UTF-8 text (byte 3)", location=Location("m/5.sql", 1, 1))
        return list(share)

    with pytest.raises(DiscoveryError) as err:
        parallel.map_shares(work, parallel.split(list(range(8)), 2))
    assert str(err.value.location) == "m/5.sql:1:1"
    assert "not UTF-8" in err.value.message


def test_a_child_killed_without_a_result_is_an_error_not_a_missing_share():
    # a thread another test left alive would make the shares run here: say so rather than kill pytest
    assert parallel.can_fork(), f"threads still alive: {[th.name for th in threading.enumerate()]}"
    here = os.getpid()

    def work(share):
        if 3 in share and os.getpid() != here:
            os.kill(os.getpid(), signal.SIGKILL)
        return list(share)

    with pytest.raises(RuntimeError, match="ended without a result .*signal 9"):
        parallel.map_shares(work, parallel.split(list(range(4)), 2))


def test_with_other_threads_running_everything_runs_here():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        results = parallel.map_shares(lambda share: os.getpid(), parallel.split(list(range(4)), 2))
    finally:
        stop.set()
        thread.join()
    assert results == [os.getpid(), os.getpid()]


def test_together_runs_different_calls_at_once_and_keeps_their_order():
    here, there = parallel.together(lambda: ("files", os.getpid()), lambda: ("ledger", os.getpid()))
    assert here == ("files", os.getpid())
    assert there[0] == "ledger" and there[1] != os.getpid()


def _python(code: str) -> list[str]:
    """What a fresh interpreter running *code* prints, word by word (it must succeed)."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_plain_data_comes_back_without_pickle_and_objects_with_it():
    code = ("import sys\nfrom pgshift import parallel\n"
            "plain = parallel.map_shares(lambda s: [(x, str(x), {'n': x}) for x in s], [[1], [2, 3]])\n"
            "assert plain == [[(1, '1', {'n': 1})], [(2, '2', {'n': 2}), (3, '3', {'n': 3})]], plain\n"
            "print('pickle' in sys.modules)\n"
            "from pgshift.model import Location\n"
            "objects = parallel.map_shares(lambda s: [Location('m.sql', x) for x in s], [[1], [2]])\n"
            "assert objects == [[Location('m.sql', 1)], [Location('m.sql', 2)]], objects\n"
            "print('pickle' in sys.modules)\n")
    assert _python(code) == ["False", "True"]


def test_without_a_file_in_memory_results_come_through_a_pipe(monkeypatch):
    monkeypatch.delattr(os, "memfd_create", raising=False)
    results = parallel.map_shares(lambda share: [str(x) * 3 for x in share], parallel.split(list(range(6)), 2))
    assert results == [["000", "111", "222"], ["333", "444", "555"]]


def test_children_that_sent_their_results_are_reaped_and_leave_no_zombie():
    code = ("import atexit, os\nfrom pgshift import parallel\nbefore = atexit._ncallbacks()\n"
            "for _ in range(3):\n"
            "    assert parallel.map_shares(lambda s: list(s), [[1], [2], [3]]) == [[1], [2], [3]]\n"
            "    parallel.reap()\n"
            "print(atexit._ncallbacks() - before)\n"   # one exit handler, however many calls
            "try:\n    os.waitpid(-1, os.WNOHANG)\nexcept ChildProcessError:\n    print('none-left')\n")
    assert _python(code) == ["1", "none-left"]


def test_chunks_are_shared_out_on_demand_and_come_back_in_order():
    import time

    here = os.getpid()

    def work(chunk):
        if os.getpid() == here:
            time.sleep(0.02)          # this process is slow: the worker takes more of the chunks
        return [(x, os.getpid()) for x in chunk]

    results = parallel.map_chunks(work, list(range(40)), workers=2, size=2)
    assert [x for chunk in results for x, _ in chunk] == list(range(40))
    by = {pid for chunk in results for _, pid in chunk}
    assert here in by and len(by) == 2
    mine = sum(1 for chunk in results for _, pid in chunk if pid == here)
    assert mine < 20, f"the slow process did {mine} of 40 items"


def test_an_error_in_a_chunk_is_raised_here():
    def work(chunk):
        if 7 in chunk:
            raise DiscoveryError("m/7.sql cannot be read", location=Location("m/7.sql", 1, 1))
        return list(chunk)

    with pytest.raises(DiscoveryError, match="m/7.sql cannot be read"):
        parallel.map_chunks(work, list(range(12)), workers=2, size=3)
    assert parallel.map_chunks(lambda c: sum(c), list(range(10)), workers=1, size=4) == [6, 22, 17]
