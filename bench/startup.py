"""Benchmark: how quickly `pgshift --help` and `pgshift status` start.

Each figure is a median of interleaved runs, shown as a ratio to `python -c pass` measured in
the same run. With `--against DIR` (the `src/` folder of another checkout, for example a
`git worktree` of an older commit) the same commands run from that tree too, interleaved, so
a before/after comparison is made on one machine at one moment:

    git worktree add /tmp/pgshift-before <commit>
    python bench/startup.py --against /tmp/pgshift-before/src
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import compile_pgshift, new_database  # noqa: E402

HERE_SRC = Path(__file__).resolve().parents[1] / "src"


def timed(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return elapsed


def make_project(root: Path, count: int) -> Path:
    (root / "migrations").mkdir(parents=True)
    (root / "pgshift.toml").write_text("[pgshift]\n[env.dev]\n")
    for i in range(count):
        (root / "migrations" / f"2026010100{i // 60:02d}{i % 60:02d}_t{i}.sql").write_text(
            f"CREATE TABLE t{i} (id bigint PRIMARY KEY);\n")
    return root


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--files", type=int, default=50)
    ap.add_argument("--against", type=Path, default=None, help="another checkout's src/ folder")
    args = ap.parse_args()
    compile_pgshift()
    trees = {"this tree": HERE_SRC}
    if args.against:
        import compileall  # noqa: PLC0415

        compileall.compile_dir(args.against / "pgshift", quiet=1)
        trees = {"before": args.against.resolve(), "after": HERE_SRC}
    from pgshift import embedded  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pgdata = work / "pgdata"
        server = embedded.start(pgdata)
        try:
            project = make_project(work / "proj", args.files)
            url = new_database(server, "bench_startup")
            base_env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "DATABASE_URL"}
            envs = {name: dict(base_env, PYTHONPATH=str(src)) for name, src in trees.items()}
            up = [sys.executable, "-m", "pgshift", "--project", str(project), "--database-url", url]
            subprocess.run(up + ["up"], env=envs[next(iter(envs))], check=True, capture_output=True)
            results = {("python -c pass", ""): []}
            for name in trees:
                results[(name, "--help")] = []
                results[(name, "status")] = []
            for _ in range(args.runs):
                results[("python -c pass", "")].append(timed([sys.executable, "-c", "pass"], base_env))
                for name, env in envs.items():
                    results[(name, "--help")].append(timed([sys.executable, "-m", "pgshift", "--help"], env))
                    results[(name, "status")].append(
                        timed([sys.executable, "-m", "pgshift", "--project", str(project), "--database-url", url,
                               "status"], env))
        finally:
            embedded.stop(pgdata)
    py = statistics.median(results[("python -c pass", "")])
    print("| command | tree | median | × python start-up |\n|---|---|---|---|")
    print(f"| python -c pass | | {py:.3f} s | 1.0 |")
    for (tree, cmd), times in results.items():
        if cmd:
            med = statistics.median(times)
            print(f"| pgshift {cmd}{' (' + str(args.files) + ' applied)' if cmd == 'status' else ''} | {tree} "
                  f"| {med:.3f} s | {med / py:.2f} |")


if __name__ == "__main__":
    main()
