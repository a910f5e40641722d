"""Benchmark: what a WAL flush at every commit would cost. pgshift commits every file but a run's
last without waiting for the flush (synchronous_commit off, transaction-local), and the last commit
flushes them all; this runs the same migrations both ways, interleaved, and prints the ratio.

    python bench/durability.py [N]        # N small migrations (default 300), 5 runs each
"""
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import new_database
from pgshift import api, embedded
from pgshift.execution import runner

N = int(sys.argv[1]) if len(sys.argv) > 1 else 300
work = Path(tempfile.mkdtemp())
server = embedded.start(work / "pgdata")
root = work / "proj"
(root / "migrations").mkdir(parents=True)
(root / "pgshift.toml").write_text("[pgshift]\n[env.dev]\n")
for i in range(N):
    (root / "migrations" / f"2026010100{i // 60:02d}{i % 60:02d}_t{i}.sql").write_text(
        f"CREATE TABLE t{i} (id bigint PRIMARY KEY, v text);\nINSERT INTO t{i} VALUES (1, 'a'), (2, 'b');\n")
orig = runner.Executor.run_step
def always_durable(self, step, durable=True):
    return orig(self, step, durable=True)
times = {"all but last async (today)": [], "every commit durable": []}
try:
    for rep in range(5):
        for name in times:
            runner.Executor.run_step = always_durable if name.startswith("every") else orig
            url = new_database(server, f"dur_{rep}_{len(times[name])}_{'a' if name.startswith('all') else 'd'}")
            project = api.open_project(root, database_url=url)
            t0 = time.perf_counter()
            api.up(project)
            times[name].append(time.perf_counter() - t0)
finally:
    embedded.stop(work / "pgdata")
base = statistics.median(times["all but last async (today)"])
for name, ts in times.items():
    print(f"{name}: median {statistics.median(ts):.3f}s over {len(ts)} runs of {N} migrations; ratio {statistics.median(ts)/base:.2f}")
