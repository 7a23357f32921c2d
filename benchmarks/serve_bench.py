"""Load on the collection portal: N units upload real returns at once while the county's dashboard refreshes.

    python benchmarks/serve_bench.py                     # SQLite, 80 units, 2 rounds
    python benchmarks/serve_bench.py --postgresql        # a throwaway PostgreSQL cluster (Debian's server)
    python benchmarks/serve_bench.py --db postgresql+psycopg://user@127.0.0.1:5432/xltool_bench

A real `xltool serve` runs in its own process on a free loopback port (127.0.0.1 only: nothing else is ever
contacted); each of the N units has its own link, session and HTTP client. Each round, every unit uploads one of the
example county's returns (examples/county-2025, real workbooks, one with errors) at the same moment and waits for
the verdict (`Accept: application/json`), while an admin client reloads the dashboard every 0.2 s. Measured:

- upload → verdict per request (p50, p95, max) and the dashboard's answer time (p50, p95);
- errors: answers other than 200, or no verdict;
- lost uploads: a 200 whose version is not in `xltool serve status` afterwards (every unit must have one version
  per round, each checked);
- database-busy errors: `database is locked` / SQLITE_BUSY / deadlock lines in the server's log, and 500 answers.

Bounded: --units (≤ 200), --rounds (≤ 5), a 120 s timeout per request; the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COUNTY = ROOT / "examples" / "county-2025"
ADMIN, PASSWORD = "bench", "bench-password-long"
BUSY = re.compile(r"database is locked|SQLITE_BUSY|deadlock detected|could not serialize", re.IGNORECASE)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _setup(folder: Path, units: int, db: str | None) -> tuple[list[str], list[Path]]:
    """A portal with one task of `units` units and an admin; the unit links and the returns they will upload."""
    sys.path.insert(0, str(ROOT))
    from xltool.serve import tasks, users
    from xltool.serve.portal import Portal

    roster = folder / "units.csv"
    rows = [f"测试乡镇{i:03d}人民政府,9151{i:014d},乡镇" for i in range(1, units + 1)]
    roster.write_text("单位,代码,类型\n" + "\n".join(rows) + "\n", encoding="utf-8-sig")
    portal = Portal(folder / "data", db)
    portal.migrate()
    _, links = tasks.create_task(portal, 2025, roster, county="测试县")
    users.add_user(portal, ADMIN, PASSWORD)
    portal.close()
    returns = sorted(p for p in COUNTY.glob("*.xlsx"))
    return [link.url() for link in links], [returns[i % len(returns)] for i in range(units)]


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


async def _run(base: str, links: list[str], files: list[Path], rounds: int) -> dict:
    import httpx2 as httpx

    timeout = httpx.Timeout(120.0)
    limits = httpx.Limits(max_connections=1)
    clients = [httpx.AsyncClient(base_url=base, timeout=timeout, limits=limits) for _ in links]
    admin = httpx.AsyncClient(base_url=base, timeout=timeout)
    try:
        for client, link in zip(clients, links, strict=True):
            answer = await client.get(link)
            assert answer.status_code == 303, answer.status_code
        tokens = [_csrf((await c.get("/unit")).text) for c in clients]
        login_page = await admin.get("/login")
        answer = await admin.post(
            "/login", data={"csrf_token": _csrf(login_page.text), "name": ADMIN, "password": PASSWORD}
        )
        assert answer.status_code == 303, answer.text
        payloads = [f.read_bytes() for f in files]
        latencies: list[float] = []
        dashboard: list[float] = []
        errors, ok = 0, 0

        async def upload(i: int) -> None:
            nonlocal errors, ok
            start = time.perf_counter()
            try:
                answer = await clients[i].post(
                    "/unit/upload",
                    data={"csrf_token": tokens[i]},
                    files={"file": (files[i].name, payloads[i], "application/octet-stream")},
                    headers={"accept": "application/json"},
                )
                good = answer.status_code == 200 and answer.json().get("check") not in ("", "检查中", None)
            except httpx.HTTPError:
                good = False
            latencies.append(time.perf_counter() - start)
            if good:
                ok += 1
            else:
                errors += 1

        async def refresh(done: asyncio.Event) -> None:
            while not done.is_set():
                start = time.perf_counter()
                answer = await admin.get("/admin/tasks/1")
                dashboard.append(time.perf_counter() - start)
                if answer.status_code != 200:
                    raise RuntimeError(f"dashboard answered {answer.status_code}")
                await asyncio.sleep(0.2)

        wall = []
        for _ in range(rounds):
            done = asyncio.Event()
            refresher = asyncio.create_task(refresh(done))
            start = time.perf_counter()
            await asyncio.gather(*(upload(i) for i in range(len(clients))))
            wall.append(time.perf_counter() - start)
            done.set()
            await refresher
        return {"latencies": latencies, "dashboard": dashboard, "errors": errors, "ok": ok, "wall": wall}
    finally:
        for client in [*clients, admin]:
            await client.aclose()


def _lost(folder: Path, db: str | None, rounds: int) -> tuple[int, int]:
    """(units whose versions are not one per round, versions still unchecked) from the database afterwards."""
    from xltool.serve import tasks
    from xltool.serve.portal import Portal

    portal = Portal(folder / "data", db)
    _, rows = tasks.status(portal, 1)
    portal.close()
    return sum(r["versions"] != rounds for r in rows), sum(r["check"] in ("", "检查中") for r in rows)


def _start_postgresql(folder: Path) -> tuple[str, list[str]]:
    """A throwaway cluster (as tests/serve_portal.py starts it); its URL and the command that stops it."""
    import glob
    import pwd

    bin_dir = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))[-1]).parent
    as_user: list[str] = []
    if os.geteuid() == 0:
        pg = pwd.getpwnam("postgres")
        os.chown(folder, pg.pw_uid, pg.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "pg", _free_port()
    subprocess.run([*as_user, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-E", "UTF8", "-U", "postgres"],
                   check=True, capture_output=True)  # fmt: skip
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
    subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "pg.log"), "-w", "start"],
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run([*as_user, str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "bench"],
                   check=True, capture_output=True)  # fmt: skip
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/bench", [
        *as_user,
        str(bin_dir / "pg_ctl"),
        "-D",
        str(data),
        "-m",
        "fast",
        "stop",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=80)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--db", default=None, help="a PostgreSQL URL (default: SQLite in a temporary data folder)")
    parser.add_argument("--postgresql", action="store_true", help="start a throwaway PostgreSQL cluster for the run")
    parser.add_argument("--workers", type=int, default=1, help="server processes (PostgreSQL only)")
    args = parser.parse_args()
    units, rounds = min(args.units, 200), min(args.rounds, 5)
    folder = Path(tempfile.mkdtemp(prefix="xltool-serve-bench-"))
    os.chmod(folder, 0o755)
    stop_pg: list[str] | None = None
    server = None
    try:
        db = args.db
        if args.postgresql:
            db, stop_pg = _start_postgresql(folder)
        links, files = _setup(folder, units, db)
        port = _free_port()
        command = [sys.executable, "-m", "xltool", "serve", "--data", str(folder / "data"), "--port", str(port)]
        if db:
            command += ["--db", db, "--workers", str(args.workers)]
        log_path = folder / "server.log"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        with log_path.open("w") as log:
            server = subprocess.Popen(command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit(log_path.read_text()) from None
                    time.sleep(0.2)
            result = asyncio.run(_run(f"http://127.0.0.1:{port}", links, files, rounds))
        log_text = log_path.read_text(encoding="utf-8", errors="replace")
        lost, unchecked = _lost(folder, db, rounds)
        busy = len(BUSY.findall(log_text))
        lat, dash = result["latencies"], result["dashboard"]
        kind = "PostgreSQL" if db else "SQLite"
        print(
            f"{kind}, {units} units × {rounds} rounds, {os.cpu_count()} cores, {args.workers if db else 1} server process(es)"
        )
        print(
            f"  upload → verdict: p50 {statistics.median(lat):.2f} s, p95 {_quantile(lat, 0.95):.2f} s, max {max(lat):.2f} s"
        )
        print(f"  each round (all {units} at once): " + ", ".join(f"{w:.2f} s" for w in result["wall"]))
        print(
            f"  dashboard while uploading: {len(dash)} loads, p50 {statistics.median(dash):.2f} s, p95 {_quantile(dash, 0.95):.2f} s"
        )
        print(f"  errors {result['errors']}, lost uploads {lost}, unchecked {unchecked}, database-busy {busy}")
        if hasattr(os, "getloadavg"):  # the machine may be shared: the figures above depend on it
            print("  load average during the run: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            server.wait(timeout=30)
        if stop_pg:
            subprocess.run(stop_pg, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
