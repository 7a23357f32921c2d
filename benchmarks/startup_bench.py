"""Start-up cost of the command line: how long a fresh interpreter spends importing before xltool does any work.

    python benchmarks/startup_bench.py              # min of 5 runs each
    python benchmarks/startup_bench.py --runs 10 --tree 30

For each case, in a fresh interpreter (the same code path as the `xltool` console script):

- `import xltool.cli`
- `xltool --help`, `xltool merge --help`
- `xltool check --bogus` (a usage error: its message and the usage line)
- `xltool check examples/sample-return-2025.xlsx` (and with `-f json`: the same without the terminal table)
- `xltool render examples/sample-return-2025.xlsx -f md`
- `xltool import tests/fixtures/seeds/000_f7ae2b9bd63a851c.txt -f json` (a published report as text)

it prints the wall time of the whole process, its CPU time (user + system, as `time.process_time` would count it: on a
shared machine the steadier figure) and the import time (`-X importtime`: the cumulative time of every top-level
import after interpreter start-up, i.e. after `site`), each the minimum of --runs runs (the machine may be noisy; the
minimum is the figure to compare). Help and usage errors are plain text (xltool.cli_text): they load no rich. A
one-file command reads a light file (xltool.batch.light_file: these examples) in this process (no worker pool, no
multiprocessing from it; any other file costs a worker's start, about 0.3 s more), finds no plugin forms
without importlib.metadata when no installed package declares any, and loads only the formats' tools it uses (format
modules import their writers' tools when they write); the terminal table (rich) is loaded when it is printed. With
--tree N it also lists the N costliest imports (cumulative) of `import xltool.cli`, or with --tree-case of another case.
If an `xltool` executable is on PATH, its wall time for `--help` is shown too (it adds whatever launcher the
environment uses, e.g. a pyenv shim). The bar: at most 0.15 s of imports for `--help` and for each one-file command.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "sample-return-2025.xlsx"
REPORT = ROOT / "tests" / "fixtures" / "seeds" / "000_f7ae2b9bd63a851c.txt"
LAUNCH = "import sys; from xltool.cli import app; sys.argv[0] = 'xltool'; sys.exit(app())"
LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S.*)$")


def _cases() -> list[tuple[str, list[str]]]:
    example, report = os.path.relpath(EXAMPLE, ROOT), os.path.relpath(REPORT, ROOT)
    return [
        ("import xltool.cli", ["-c", "import xltool.cli"]),
        ("xltool --help", ["-c", LAUNCH, "--help"]),
        ("xltool merge --help", ["-c", LAUNCH, "merge", "--help"]),
        ("xltool check --bogus", ["-c", LAUNCH, "check", "--bogus"]),
        (f"xltool check {example}", ["-c", LAUNCH, "check", example]),
        (f"xltool check {example} -f json", ["-c", LAUNCH, "check", example, "-f", "json"]),
        (f"xltool render {example} -f md", ["-c", LAUNCH, "render", example, "-f", "md"]),
        (f"xltool import {report} -f json", ["-c", LAUNCH, "import", report, "-f", "json"]),
    ]


def _imports(stderr: str) -> list[tuple[int, int, str]]:
    """(cumulative µs, depth, module) of each import after start-up (the lines after `site`), in order."""
    rows = []
    for line in stderr.splitlines():
        m = LINE.match(line)
        if m is None:
            continue
        depth, name = len(m.group(3)) // 2, m.group(4)
        if depth == 0 and name == "site":
            rows = []  # everything so far was interpreter start-up
            continue
        rows.append((int(m.group(2)), depth, name))
    return rows


def _children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes so far."""
    try:
        import resource
    except ImportError:  # not POSIX: os.times, in clock ticks
        t = os.times()
        return t.children_user + t.children_system
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _run(args: list[str], importtime: bool) -> tuple[float, float, str]:
    """(wall, CPU of the child process, stderr) of one run."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="", COLUMNS="100")
    flags = ["-X", "importtime"] if importtime else []
    before, start = _children_cpu(), time.perf_counter()
    done = subprocess.run([sys.executable, *flags, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - start, _children_cpu() - before
    usage_error = "--bogus" in args and done.returncode == 2
    if done.returncode not in (0, 1) and not usage_error:  # check exits 1 when a return has errors: still a full run
        raise SystemExit(f"{args} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return wall, cpu, done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tree", type=int, default=0, help="list the N costliest imports of `import xltool.cli`")
    parser.add_argument("--tree-case", default="import xltool.cli", help="the case --tree lists (a label above)")
    opts = parser.parse_args()
    _run(["-c", "import xltool.cli"], False)  # warm the byte-code cache and the file system cache
    print(f"{'case':<58} {'wall':>9} {'cpu':>9} {'imports':>9}   (min of {opts.runs} runs)")
    costliest: list[tuple[int, int, str]] = []
    for label, args in _cases():
        walls, cpus = zip(*(_run(args, False)[:2] for _ in range(opts.runs)), strict=True)
        imports = []
        for _ in range(opts.runs):
            rows = _imports(_run(args, True)[2])
            imports.append(sum(us for us, depth, _name in rows if depth == 0))
            if label == opts.tree_case and (not costliest or imports[-1] == min(imports)):
                costliest = rows
        print(f"{label:<58} {min(walls) * 1000:7.0f}ms {min(cpus) * 1000:7.0f}ms {min(imports) / 1000:7.0f}ms")
    launcher = shutil.which("xltool")
    if launcher:
        walls = []
        for _ in range(opts.runs):
            start = time.perf_counter()
            subprocess.run([launcher, "--help"], cwd=ROOT, capture_output=True)
            walls.append(time.perf_counter() - start)
        print(f"{'xltool --help (' + launcher + ')':<58} {min(walls) * 1000:7.0f}ms")
    if opts.tree:
        print(f"\ncostliest imports of `{opts.tree_case}` (cumulative; one run):")
        for us, depth, name in sorted(costliest, reverse=True)[: opts.tree]:
            print(f"{us / 1000:8.1f}ms  {'  ' * depth}{name}")


if __name__ == "__main__":
    main()
