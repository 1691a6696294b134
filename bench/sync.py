"""Benchmark: a GESDENT import of 100,000 reservations and 10,000 patients, full and no-op.

    .venv/bin/python bench/sync.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/sync.py            # SQLite in a temporary file

Starts a GESDENT sandbox (`gesdent-sandbox`) in a separate process on a free loopback port
and waits until it answers. Then, per run, in a fresh scratch database (created, migrated and
dropped by the script) with one partner and instance, it times `app.sync.importer.run_import` in this
process three times:

  full sync        empty tables, no cursors: every record fetched and inserted;
  no-op, cursors   the usual incremental resync, nothing changed at the source: only the records
                   tied at each stream's cursor come again;
  no-op, full      `full_refresh=True` on the same, unchanged data: every record fetched and
                   compared again, nothing written. This is the "no-op resync of the same data" of
                   the target.

records/s = records fetched across the four streams / wall time of the run. Each phase must succeed
with the expected counts (a no-op writes nothing) or the script stops. Peak RSS is this process's
`ru_maxrss` (the sandbox runs apart and is not counted).

Per phase it also prints the CPU seconds of this process, the sandbox, the PostgreSQL backends of
the scratch database and the rest of the machine, and the VM's steal time; and a "speed check"
(fixed pure-Python work, in ms) before and after: on a shared virtual machine the same work can
take a third longer when the host is busy, and these say whether a slow figure is the code or the box.

Options: --reservations, --patients, --resources (default 2), --seed, --runs (default 3; each in a
fresh database; medians and ranges shown), --database-url, --loop (asyncio, as `portico worker`
runs the importer; or uvloop, as `portico serve` does under uvicorn).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from procs import cpu_seconds  # bench/procs.py
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.db.engine import create_engine, create_sessionmaker
from app.db.migrate import upgrade
from app.db.models import Instance, Partner
from app.domain.gesdent import STREAMS, ConnectionRules
from app.sync.importer import ImportResult, run_import

SANDBOX_START_TIMEOUT = 180.0  # generating 100k reservations takes a few seconds; a loaded box, more
TARGETS = "PostgreSQL, 2 cores: full sync >= 20,000 records/s, no-op resync (full) < 3 s, peak RSS < 300 MB"


# --- The sandbox, in its own process -----------------------------------------------------------


class Sandbox:
    def __init__(self, patients: int, reservations: int, resources: int, seed: int) -> None:
        self.port = _free_port()
        self.root = f"http://127.0.0.1:{self.port}/"
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115  # closed in stop()
            prefix="portico-sandbox-", suffix=".log", delete=False
        )
        # `gesdent-sandbox`, the tool's own command (gesdent_sandbox/ is not part of Portico).
        command = [
            sys.executable, "-m", "gesdent_sandbox",
            "--port", str(self.port),
            "--seed", str(seed),
            "--patients", str(patients),
            "--reservations", str(reservations),
            "--resources", str(resources),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)
        self.info: dict[str, Any] = {}

    def wait(self) -> Sandbox:
        """Until the control API answers; then the base URL, resource ids and credentials come from it."""
        deadline = time.monotonic() + SANDBOX_START_TIMEOUT
        with httpx.Client(timeout=2) as client:  # one client: each new one loads the CA bundle
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the sandbox exited with {self.process.returncode}:\n{self.output()}")
                try:
                    response = client.get(self.root + "_sandbox/info")
                    if response.status_code == 200:
                        self.info = response.json()
                        return self
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"the sandbox did not answer in {SANDBOX_START_TIMEOUT:.0f} s:\n{self.output()}"
                    )
                time.sleep(0.2)

    def rules(self) -> ConnectionRules:
        credentials = {
            family: tuple(credential.split(":", 1)) for family, credential in self.info["credentials"].items()
        }
        return ConnectionRules(
            base_url=self.root + self.info["path_prefix"].lstrip("/"),
            resource_ids=list(self.info["resource_ids"]),
            credentials=credentials,
            window_days=14,
        )

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def banner_line(self, word: str) -> str:
        return next((line.strip() for line in self.output().splitlines() if word in line), "")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        os.unlink(self.log.name)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- Scratch databases --------------------------------------------------------------------------


class Scratch:
    """A fresh, migrated database per run: PostgreSQL (created on the given server) or SQLite."""

    def __init__(self, server_url: str | None) -> None:
        self.server_url = server_url
        self.name: str | None = None
        self.folder: str | None = None

    @property
    def backend(self) -> str:
        return "postgresql" if self.server_url else "sqlite"

    async def __aenter__(self) -> str:
        if self.server_url:
            server = make_url(self.server_url)
            self.name = f"portico_bench_sync_{secrets.token_hex(4)}"
            admin = await asyncpg.connect(
                server.set(drivername="postgresql").render_as_string(hide_password=False)
            )
            try:
                await admin.execute(f'CREATE DATABASE "{self.name}"')
            finally:
                await admin.close()
            return server.set(database=self.name).render_as_string(hide_password=False)
        self.folder = tempfile.mkdtemp(prefix="portico-bench-sync-")
        return f"sqlite+aiosqlite:///{self.folder}/bench.db"

    async def __aexit__(self, *exc: object) -> None:
        if self.name and self.server_url:
            server = make_url(self.server_url)
            admin = await asyncpg.connect(
                server.set(drivername="postgresql").render_as_string(hide_password=False)
            )
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            finally:
                await admin.close()
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)


# --- Runs ---------------------------------------------------------------------------------------


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a local process; 0 if it cannot be read."""
    return cpu_seconds(pid) or 0.0


def machine_cpu() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine so far: busy = all but idle, iowait and steal."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    idle, iowait, steal = fields[3], fields[4], fields[7]
    return (sum(fields[:8]) - idle - iowait - steal) / tick, steal / tick


class CpuMeter:
    """CPU seconds spent per phase by this process, the sandbox, the local PostgreSQL backends
    serving the scratch database, and the rest of the machine (another process's load shows here;
    `stolen` is a virtual machine's steal time): where the time goes, and whether it was quiet."""

    def __init__(self, sandbox_pid: int, engine: Any) -> None:
        self.sandbox_pid, self.engine = sandbox_pid, engine
        self.backends: dict[int, float] = {}

    async def _database(self) -> float:
        if self.engine.dialect.name != "postgresql":
            return 0.0
        async with self.engine.connect() as connection:
            pids = (
                await connection.execute(
                    text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
                )
            ).scalars()
            spent = 0.0
            for pid in pids:
                now = process_cpu(pid)
                spent += now - self.backends.get(pid, 0.0)
                self.backends[pid] = now
        return spent

    async def start(self) -> None:
        await self._database()
        self.own, self.sandbox, self.machine = own_cpu(), process_cpu(self.sandbox_pid), machine_cpu()

    async def stop(self) -> dict[str, float]:
        spent = {
            "importer": own_cpu() - self.own,
            "sandbox": process_cpu(self.sandbox_pid) - self.sandbox,
            "database": await self._database(),
        }
        busy, steal = (now - before for now, before in zip(machine_cpu(), self.machine, strict=True))
        # What else kept the machine busy meanwhile (other processes, PostgreSQL's own workers).
        spent["rest of machine"] = max(0.0, busy - sum(spent.values()))
        spent["stolen"] = steal
        return spent


def speed_check() -> float:
    """Milliseconds for a fixed piece of pure Python (best of 5): on a shared virtual machine the
    same work can take a third longer when the host is busy, whatever the load average says."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        sum(i * i for i in range(300_000))
        best = min(best, time.perf_counter() - started)
    return best * 1000


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def fetched(result: ImportResult) -> int:
    return sum(counts.get("fetched", 0) for counts in result.counts.values())


def check(result: ImportResult, what: str, *, writes: bool) -> None:
    """The run must succeed; a no-op must write nothing; a full sync must create what it fetched."""
    if result.status != "succeeded":
        raise SystemExit(f"{what}: {result.status}: {result.error}")
    for stream, counts in result.counts.items():
        written = counts["created"] + counts["updated"] + counts["deleted"]
        if not writes and written:
            raise SystemExit(f"{what}: {stream} wrote {written} rows on a no-op resync: {counts}")
        if writes and stream != "availability" and counts["created"] != counts["fetched"]:
            raise SystemExit(f"{what}: {stream} created {counts['created']} of {counts['fetched']} fetched")


def describe(name: str, result: ImportResult, seconds: float, cpu: dict[str, float]) -> str:
    total = fetched(result)
    spent = ", ".join(f"{who} {value:.2f}" for who, value in cpu.items() if value)
    lines = [
        f"  {name:<16} {seconds:7.2f} s  {total:>7} records  {total / seconds:>8,.0f} records/s"
        f"   CPU s: {spent}"
    ]
    for stream in STREAMS:
        counts = result.counts.get(stream, {})
        took = result.timings.get(stream, 0.0)
        rate = counts.get("fetched", 0) / took if took else 0.0
        lines.append(
            f"    {stream:<13} {took:6.2f} s  fetched {counts.get('fetched', 0):>6}"
            f"  created {counts.get('created', 0):>6}  updated {counts.get('updated', 0):>3}"
            f"  deleted {counts.get('deleted', 0):>3}  unchanged {counts.get('unchanged', 0):>6}"
            f"  ({rate:,.0f}/s)"
        )
    return "\n".join(lines)


async def one_run(
    scratch: Scratch, rules: ConnectionRules, today: date, sandbox_pid: int
) -> dict[str, tuple[ImportResult, float]]:
    async with scratch as url:
        engine = create_engine(url)
        try:
            await upgrade(engine)
            sessionmaker = create_sessionmaker(engine)
            async with sessionmaker() as session:
                partner = Partner(name="sync benchmark")
                session.add(partner)
                await session.flush()
                instance = Instance(partner_id=partner.id, name="bench-sync", display_name="Sync benchmark")
                session.add(instance)
                await session.commit()
                instance_id = instance.id
            meter = CpuMeter(sandbox_pid, engine)
            results = {}
            for name, full_refresh, writes in (
                ("full sync", False, True),
                ("no-op, cursors", False, False),
                ("no-op, full", True, False),
            ):
                await meter.start()
                started = time.perf_counter()
                result = await run_import(
                    sessionmaker,
                    instance_id,
                    rules,
                    full_refresh=full_refresh,
                    today=today,
                    client_options={"allow_private_networks": True},  # the sandbox is on loopback
                )
                seconds = time.perf_counter() - started
                cpu = await meter.stop()
                check(result, name, writes=writes)
                results[name] = (result, seconds)
                print(describe(name, result, seconds, cpu), flush=True)
            return results
        finally:
            await engine.dispose()


def spread(values: list[float], fmt: str) -> str:
    if len(values) == 1:
        return format(values[0], fmt)
    low, high = format(min(values), fmt), format(max(values), fmt)
    return f"{format(statistics.median(values), fmt)} (median; {low} to {high})"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", help="PostgreSQL server URL (a scratch database is created on it per run)"
    )
    parser.add_argument("--reservations", type=int, default=100_000)
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--resources", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--loop",
        choices=["asyncio", "uvloop"],
        default="asyncio",
        help="event loop: asyncio (as `portico worker` runs), uvloop (as `portico serve` runs under uvicorn)",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs, each in a fresh database (median shown)")
    return parser.parse_args()


async def main(args: argparse.Namespace) -> None:
    print(
        f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} CPUs; "
        f"speed check {speed_check():.1f} ms"
    )
    sandbox = Sandbox(args.patients, args.reservations, args.resources, args.seed)
    try:
        started = time.perf_counter()
        sandbox.wait()
        print(
            f"sandbox (pid {sandbox.process.pid}) answered after {time.perf_counter() - started:.1f} s: "
            f"{sandbox.banner_line('generated in')}"
        )
        rules, today = sandbox.rules(), date.fromisoformat(sandbox.info["today"])
        rss_before = peak_rss_mb()
        runs: list[dict[str, tuple[ImportResult, float]]] = []
        for number in range(1, args.runs + 1):
            scratch = Scratch(args.database_url)
            print(f"run {number}/{args.runs} ({scratch.backend}):", flush=True)
            runs.append(await one_run(scratch, rules, today, sandbox.process.pid))
    finally:
        sandbox.stop()

    full = [fetched(run["full sync"][0]) / run["full sync"][1] for run in runs]
    print()
    print(
        f"database: {scratch.backend}; {args.reservations} reservations, {args.patients} patients, "
        f"{args.resources} resources; runs: {args.runs}; event loop: {args.loop}"
    )
    print(
        f"full sync              {spread(full, ',.0f')} records/s "
        f"({spread([run['full sync'][1] for run in runs], '.2f')} s)"
    )
    print(
        f"no-op resync, full     {spread([run['no-op, full'][1] for run in runs], '.2f')} s "
        f"(every record fetched again, nothing written; the target's no-op resync)"
    )
    print(
        f"no-op resync, cursors  {spread([run['no-op, cursors'][1] for run in runs], '.2f')} s "
        f"(incremental: only the records tied at the cursors)"
    )
    print(
        f"peak RSS               {peak_rss_mb():.0f} MB "
        f"(this process; {rss_before:.0f} MB before the first run)"
    )
    print(
        f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        f"speed check {speed_check():.1f} ms"
    )
    print(f"targets: {TARGETS}")


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.loop == "uvloop":
        import uvloop  # installed with uvicorn[standard]

        uvloop.run(main(arguments))
    else:
        asyncio.run(main(arguments))
