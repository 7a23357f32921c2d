"""Benchmark `xltool merge` and `xltool check` on a folder, end to end, against the naive script and the bare floor.

    python benchmarks/merge_bench.py                          # N = 1000, 10000
    python benchmarks/merge_bench.py --sizes 1000 10000 100000 --workdir /tmp/xlbench

Returns are made quickly: BASES distinct full returns are generated with tests.fillings.random_return, then cloned
to N files by rewriting inside the zip the unit name and code (填报说明, the tables' status lines, shared strings,
docProps) and 现行有效件数 of Table 二 (so clones of one base are not identical figures, as real units are not): each
clone is a distinct, valid return with its own SHA-256, and xltool re-validates it in full. Entries that do not change
are copied compressed, so 100,000 files take minutes (about 3.5 GB). `--workdir` keeps them for the next run.

For each N, in one run:

- `xltool merge DIR -o county.xlsx` in a fresh process: wall time, returns/s, peak RSS of the merge process and of its
  largest worker process (VmHWM from /proc; Linux);
- the naive script a clerk would write, `pandas.read_excel(sheet_name=None, engine="openpyxl")` on every file in one
  process (timed on up to --naive-max files, extrapolated beyond and marked est.), and the speed-up over it;
- the bare floor: python-calamine reading every sheet of every file (`to_python`) on 2 processes (on up to
  --floor-max files, extrapolated beyond), and xltool's time as a multiple of it; also CPU seconds (user + system
  of the process and its workers) and their multiple of the floor's, which stays meaningful on a busy machine;
- `xltool check DIR --format csv` (output to /dev/null): wall time, returns/s, peak RSS of the process and its largest
  worker (the resource tracker, a child too, is small).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BASES = 200  # distinct generated returns; every other file is a clone of one of them
YEAR = 2025
IN_FORCE = (
    "active.rules.normative.in_force"  # bumped per clone: only a >= rule reads it (cross-year rules need --previous)
)


def unit_name(i: int) -> str:
    return f"第{i}号乡镇人民政府"


def unit_code(i: int) -> str:
    return f"12{i:016d}"


# --- making the returns ----------------------------------------------------------------------------------------------


def _write_base(args: tuple[str, int]) -> None:
    from tests.fillings import random_return
    from xltool.forms import form_for_year
    from xltool.model import Unit
    from xltool.template import write_xlsx

    folder, i = args
    ret = random_return(form_for_year(YEAR), YEAR, random.Random(i))
    ret.unit = Unit(name=unit_name(i), code=unit_code(i))
    write_xlsx(ret, Path(folder) / f"base{i:04d}.xlsx")


class Base:
    """One generated return, ready to be cloned: each zip entry compressed as it is, and the texts that change."""

    def __init__(self, path: Path, index: int) -> None:
        from xlsxwriter.utility import xl_rowcol_to_cell

        from xltool.forms import form_for_year

        form = form_for_year(YEAR)
        cell = form.cell[IN_FORCE]
        sheet_part = f"xl/worksheets/sheet{[t.sheet for t in form.tables].index(cell.sheet) + 2}.xml"
        self.in_force = re.compile(rf'(<c r="{xl_rowcol_to_cell(cell.row, cell.col)}"[^>]*><v>)(\d+)(</v>)'.encode())
        self.name, self.code, self.sheet_part = unit_name(index).encode(), unit_code(index).encode(), sheet_part
        self.entries = []  # (info, raw compressed bytes, or the uncompressed text to rewrite)
        data = path.read_bytes()
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                text = z.read(info.filename)
                if self.name in text or self.code in text or info.filename == sheet_part:
                    self.entries.append((info, None, text))
                    continue
                nlen, elen = struct.unpack("<HH", data[info.header_offset + 26 : info.header_offset + 30])
                start = info.header_offset + 30 + nlen + elen
                self.entries.append((info, data[start : start + info.compress_size], None))

    def clone(self, path: Path, i: int, bump: int) -> None:
        name, code = unit_name(i).encode(), unit_code(i).encode()
        out, central = bytearray(), bytearray()
        for info, raw, text in self.entries:
            if text is not None:
                text = text.replace(self.name, name).replace(self.code, code)
                if bump and info.filename == self.sheet_part:
                    text = self.in_force.sub(
                        lambda m: m.group(1) + str(int(m.group(2)) + bump).encode() + m.group(3), text
                    )
                crc, size = zlib.crc32(text), len(text)
                packer = zlib.compressobj(6, zlib.DEFLATED, -15)
                raw = packer.compress(text) + packer.flush()
            else:
                crc, size = info.CRC, info.file_size
            y, mo, d, h, mi, s = info.date_time
            date, clock = (y - 1980) << 9 | mo << 5 | d, h << 11 | mi << 5 | s // 2
            fname = info.filename.encode()
            offset = len(out)
            out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, clock, date, crc, len(raw), size, len(fname), 0)
            out += fname + raw
            central += struct.pack(
                "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, clock, date, crc, len(raw), size, len(fname),
                0, 0, 0, 0, info.external_attr, offset,
            )  # fmt: skip
            central += fname
        count = len(self.entries)
        end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central), len(out), 0)
        path.write_bytes(bytes(out + central + end))


_BASES: list[Base] = []


def _clone_range(args: tuple[str, str, int, int]) -> None:
    base_dir, folder, start, stop = args
    if not _BASES:
        _BASES.extend(Base(Path(base_dir) / f"base{b:04d}.xlsx", b) for b in range(BASES))
    for i in range(start, stop):
        _BASES[i % BASES].clone(Path(folder) / f"unit{i:06d}.xlsx", i, i // BASES)


def prepare(workdir: Path, n: int) -> tuple[Path, float]:
    """The folder of n returns (made, or reused from workdir) and the seconds it took to make."""
    start = time.perf_counter()
    base_dir = workdir / "bases"
    base_dir.mkdir(parents=True, exist_ok=True)
    missing = [i for i in range(BASES) if not (base_dir / f"base{i:04d}.xlsx").exists()]
    if missing:
        with ProcessPoolExecutor() as pool:
            list(pool.map(_write_base, [(str(base_dir), i) for i in missing], chunksize=8))
    folder = workdir / f"n{n}"
    folder.mkdir(parents=True, exist_ok=True)
    if sum(1 for _ in folder.glob("*.xlsx")) != n:
        for f in folder.glob("*.xlsx"):
            f.unlink()
        step = 2000
        jobs = [(str(base_dir), str(folder), a, min(a + step, n)) for a in range(0, n, step)]
        with ProcessPoolExecutor() as pool:
            list(pool.map(_clone_range, jobs))
        return folder, time.perf_counter() - start
    return folder, 0.0


# --- what is timed ---------------------------------------------------------------------------------------------------

# Peak memory is read from /proc (VmHWM: the high-water mark of the process's own memory). getrusage's ru_maxrss
# would not do: a process started by fork or vfork then exec inherits its parent's high-water mark, so a small
# xltool started from a benchmark that has loaded pandas would report pandas' memory. Workers are sampled the same way
# while they run (their VmHWM only grows, so the last sample before they exit is their peak, near enough).
_RUN = """
import atexit, os, sys, threading, time
def hwm(pid="self"):
    try:
        with open(f"/proc/{pid}/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))
    except (OSError, StopIteration):
        return 0
kids = [0]
def watch():
    while True:
        pids = []
        for task in os.listdir("/proc/self/task"):
            try:
                pids += open(f"/proc/self/task/{task}/children").read().split()
            except OSError:
                pass
        for pid in pids:
            kids[0] = max(kids[0], hwm(pid))
        time.sleep(0.2)
threading.Thread(target=watch, daemon=True).start()
atexit.register(lambda: print("PEAK", hwm(), kids[0], file=sys.__stderr__))
from xltool.cli import app
sys.argv = ["xltool", *sys.argv[1:]]
app()
"""


def _cpu() -> float:
    """CPU seconds (user + system) of this process's children that have ended (0 where the system does not say)."""
    t = os.times()
    return t.children_user + t.children_system


def run_xltool(args: list[str]) -> tuple[float, float, float, float]:
    """Wall time, CPU seconds (the process and its workers), peak RSS (MB) of the xltool process and of its largest
    worker, in a fresh process."""
    cpu = _cpu()
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _RUN, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    wall, cpu = time.perf_counter() - start, _cpu() - cpu
    peak = next((line.split()[1:] for line in proc.stderr.splitlines() if line.startswith("PEAK")), ["0", "0"])
    if proc.returncode not in (0, 1):
        raise SystemExit(f"xltool {' '.join(args[:1])} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return wall, cpu, int(peak[0]) / 1024, int(peak[1]) / 1024


def naive(files: list[Path]) -> float:
    """What a hand-written script does: pandas.read_excel every sheet of every file with openpyxl, then add up."""
    import pandas as pd

    start = time.perf_counter()
    total = 0.0
    for f in files:
        sheets = pd.read_excel(f, sheet_name=None, header=None, engine="openpyxl")
        for frame in sheets.values():
            total += float(pd.to_numeric(frame.stack(), errors="coerce").sum())
    return time.perf_counter() - start


def _calamine_one(path: str) -> int:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(path)
    return sum(len(wb.get_sheet_by_name(name).to_python()) for name in wb.sheet_names)


def floor(files: list[Path], processes: int = 2) -> tuple[float, float]:
    """The bare floor: python-calamine reads every sheet of every file on `processes` processes (wall, CPU s)."""
    cpu = _cpu()
    start = time.perf_counter()
    pool = multiprocessing.get_context("spawn").Pool(processes)
    sum(pool.imap_unordered(_calamine_one, map(str, files), chunksize=64))
    wall = time.perf_counter() - start
    pool.close()
    pool.join()  # ended and waited for: their CPU time is counted
    return wall, _cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--naive-max", type=int, default=500, help="files the naive script is timed on")
    parser.add_argument("--floor-max", type=int, default=10000, help="files the calamine floor is timed on")
    parser.add_argument("--workdir", type=Path, help="keep generated returns here and reuse them on the next run")
    parser.add_argument("--no-check", action="store_true", help="do not time xltool check")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}", flush=True)
    header = (
        f"{'N':>7} {'make s':>7} | {'merge s':>8} {'ret/s':>6} {'naive s':>11} {'×naive':>7} {'floor s':>10} "
        f"{'×floor':>6} {'cpu s':>6} {'×fcpu':>6} {'MB':>5} {'wMB':>5} | {'check s':>8} {'ret/s':>6} {'MB':>5} {'wMB':>5}"
    )
    print(header)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        for n in args.sizes:
            folder, made = prepare(workdir, n)
            files = sorted(folder.glob("*.xlsx"))
            out = Path(tmp) / f"county{n}.xlsx"
            wall, cpu, peak, worker_peak = run_xltool(["merge", str(folder), "-o", str(out), "--unit", "某某县"])
            sample = files[: args.naive_max]
            naive_s = naive(sample) * n / len(sample)
            naive_text = f"{naive_s:.1f}" + (" est." if len(sample) < n else "")
            sample = files[: args.floor_max]
            floor_s, floor_cpu = (x * n / len(sample) for x in floor(sample))
            floor_text = f"{floor_s:.1f}" + (" est." if len(sample) < n else "")
            line = (
                f"{n:>7} {made:>7.0f} | {wall:>8.1f} {n / wall:>6.0f} {naive_text:>11} {naive_s / wall:>6.1f}× "
                f"{floor_text:>10} {wall / floor_s:>5.2f}× {cpu:>6.1f} {cpu / floor_cpu:>5.2f}× "
                f"{peak:>5.0f} {worker_peak:>5.0f} |"
            )
            if not args.no_check:
                c_wall, _, c_peak, c_worker = run_xltool(["check", str(folder), "--format", "csv"])
                line += f" {c_wall:>8.1f} {n / c_wall:>6.0f} {c_peak:>5.0f} {c_worker:>5.0f}"
            print(line, flush=True)
            out.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
