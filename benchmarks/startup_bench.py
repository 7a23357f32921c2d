"""Start-up cost of the command line: how long a fresh interpreter spends importing before xltool does any work.

    python benchmarks/startup_bench.py              # min of 5 runs each
    python benchmarks/startup_bench.py --runs 10 --tree 30

For each case, in a fresh interpreter (the same code path as the `xltool` console script):

- `import xltool.cli`
- `xltool --help`
- `xltool check examples/sample-return-2025.xlsx`
- `xltool render examples/sample-return-2025.xlsx -f md`

it prints the wall time of the whole process and the import time (`-X importtime`: the cumulative time of every
top-level import after interpreter start-up, i.e. after `site`), each the minimum of --runs runs (the machine may be
noisy; the minimum is the figure to compare). With --tree N it also lists the N costliest imports (cumulative) of
`import xltool.cli`. If an `xltool` executable is on PATH, its wall time for `--help` is shown too (it adds whatever
launcher the environment uses, e.g. a pyenv shim).
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
LAUNCH = "import sys; from xltool.cli import app; sys.argv[0] = 'xltool'; sys.exit(app())"
LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S.*)$")


def _cases() -> list[tuple[str, list[str]]]:
    example = os.path.relpath(EXAMPLE, ROOT)
    return [
        ("import xltool.cli", ["-c", "import xltool.cli"]),
        ("xltool --help", ["-c", LAUNCH, "--help"]),
        (f"xltool check {example}", ["-c", LAUNCH, "check", example]),
        (f"xltool render {example} -f md", ["-c", LAUNCH, "render", example, "-f", "md"]),
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


def _run(args: list[str], importtime: bool) -> tuple[float, str]:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="", COLUMNS="100")
    flags = ["-X", "importtime"] if importtime else []
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *flags, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):  # check exits 1 when a return has errors: still a full run
        raise SystemExit(f"{args} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return wall, done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tree", type=int, default=0, help="list the N costliest imports of `import xltool.cli`")
    opts = parser.parse_args()
    _run(["-c", "import xltool.cli"], False)  # warm the byte-code cache and the file system cache
    print(f"{'case':<58} {'wall':>9} {'imports':>9}   (min of {opts.runs} runs)")
    costliest: list[tuple[int, int, str]] = []
    for label, args in _cases():
        walls = [_run(args, False)[0] for _ in range(opts.runs)]
        imports = []
        for _ in range(opts.runs):
            rows = _imports(_run(args, True)[1])
            imports.append(sum(us for us, depth, _name in rows if depth == 0))
            if label == "import xltool.cli" and (not costliest or imports[-1] == min(imports)):
                costliest = rows
        print(f"{label:<58} {min(walls) * 1000:7.0f}ms {min(imports) / 1000:7.0f}ms")
    launcher = shutil.which("xltool")
    if launcher:
        walls = []
        for _ in range(opts.runs):
            start = time.perf_counter()
            subprocess.run([launcher, "--help"], cwd=ROOT, capture_output=True)
            walls.append(time.perf_counter() - start)
        print(f"{'xltool --help (' + launcher + ')':<58} {min(walls) * 1000:7.0f}ms")
    if opts.tree:
        print("\ncostliest imports of `import xltool.cli` (cumulative; one run):")
        for us, depth, name in sorted(costliest, reverse=True)[: opts.tree]:
            print(f"{us / 1000:8.1f}ms  {'  ' * depth}{name}")


if __name__ == "__main__":
    main()
