"""Benchmark `xltool merge` end to end against the naive pandas approach a clerk's script would take.

    python benchmarks/merge_bench.py                 # N = 100, 1000, 10000
    python benchmarks/merge_bench.py --sizes 100 1000 --naive-max 1000

Prints, for each N: generation time, merge wall time, files per second, peak memory (RSS of the merge process and
its workers), and the naive pandas.read_excel(engine="openpyxl") time for reading the same files (up to --naive-max;
beyond that it is extrapolated from the largest measured N and marked "est.").
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _write_one(args: tuple[str, int]) -> None:
    from tests.fillings import random_return
    from xltool.forms import form_for_year
    from xltool.model import Unit
    from xltool.template import write_xlsx

    folder, i = args
    ret = random_return(form_for_year(2025), 2025, random.Random(i))
    ret.unit = Unit(name=f"第{i}号乡镇人民政府", code=f"12{i:016d}")
    write_xlsx(ret, Path(folder) / f"unit{i:05d}.xlsx")


def generate(folder: Path, n: int) -> float:
    start = time.perf_counter()
    with ProcessPoolExecutor() as pool:
        list(pool.map(_write_one, [(str(folder), i) for i in range(n)], chunksize=64))
    return time.perf_counter() - start


def run_merge(folder: Path, out: Path) -> tuple[float, float]:
    """Wall time and peak RSS (MB) of `xltool merge` in a fresh process (its pool workers included)."""
    code = (
        "import resource, sys; from xltool.cli import app; "
        "sys.argv=['xltool','merge',sys.argv[1],'-o',sys.argv[2]]; "
        "import atexit; atexit.register(lambda: print('PEAK', max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
        " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss), file=sys.stderr)); app()"
    )
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, str(folder), str(out)], capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    peak = next((int(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("PEAK")), 0)
    if proc.returncode not in (0, 1) or not out.exists():
        raise SystemExit(f"merge failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return wall, peak / 1024


def naive(folder: Path) -> float:
    """What a hand-written script does: pandas.read_excel every sheet of every file with openpyxl, then add up."""
    import pandas as pd

    start = time.perf_counter()
    total = 0.0
    for f in sorted(folder.glob("*.xlsx")):
        sheets = pd.read_excel(f, sheet_name=None, header=None, engine="openpyxl")
        for frame in sheets.values():
            total += float(pd.to_numeric(frame.stack(), errors="coerce").sum())
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--naive-max", type=int, default=1000, help="largest N to time the naive approach on")
    parser.add_argument("--workdir", type=Path, help="keep generated returns here and reuse them on the next run")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"{'N':>6} {'generate s':>11} {'merge s':>8} {'files/s':>8} {'peak MB':>8} {'naive s':>10} {'speed-up':>9}")
    naive_rate = None
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = (args.workdir / f"n{n}") if args.workdir else Path(tmp) / "in"
            folder.mkdir(parents=True, exist_ok=True)
            reuse = len(list(folder.glob("*.xlsx"))) == n
            gen = 0.0 if reuse else generate(folder, n)
            wall, peak = run_merge(folder, Path(tmp) / "county.xlsx")
            if n <= args.naive_max:
                naive_s = naive(folder)
                naive_rate = naive_s / n
                naive_text = f"{naive_s:10.1f}"
            else:
                naive_s = naive_rate * n if naive_rate else float("nan")
                naive_text = f"{naive_s:6.0f} est."
            print(
                f"{n:>6} {'reused' if reuse else f'{gen:.1f}':>11} {wall:>8.1f} {n / wall:>8.0f} {peak:>8.0f} {naive_text:>10} "
                f"{naive_s / wall:>8.1f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
