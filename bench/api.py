"""Benchmark: what one request costs Portico, against a bare Starlette + asyncpg peer in the same run.

    .venv/bin/python bench/api.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

In a scratch PostgreSQL database (created, migrated by Portico's own start-up, and dropped by the
script): `portico serve` in one process, and beside it bench/api_peer.py served by the same uvicorn
in one process, on the same database (and a second `portico serve` that keeps no search answer, for
the `search-miss` scenario). The data is made through Portico's API with the master key:
one partner, one API key, and what each scenario needs. Then, for each scenario, `wrk -c32 -t2`
loads Portico and the peer in turn for `--seconds` each, `--rounds` times, after a short warm-up of
each; only one server is loaded at a time. Printed: requests/s of each (median, and the range over
the rounds), and the ratio Portico ÷ peer (median of the rounds' ratios, and their range).

A scenario is a function that makes its data through the API and says what to load, with the peer's
path when there is a peer (`--scenario NAME` runs only that one; the list is SCENARIOS at the end).
Every request of a run must answer 2xx: a run with other answers fails the benchmark, since an error
is cheaper than an answer. wrk comes from the distribution: `apt-get install -y wrk` on Debian.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
from availability import build as build_portal  # bench/availability.py
from procs import cpu_seconds  # bench/procs.py
from report import UNLIMITED  # bench/report.py
from sqlalchemy import make_url

from app.crypto import new_key
from app.db.engine import create_engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.processes import (  # noqa: E402
    LoggedProcess,
    clean_env,
    free_port,
    portico_command,
    start,
    stop,
    wait_ready,
)

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
MASTER_KEY = "ptc_master_bench_" + secrets.token_urlsafe(16)
WARM_UP_SECONDS = 3


# --- The servers -------------------------------------------------------------------------------------


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A new database on the server of `server_url`, dropped afterwards; its URL."""
    name = f"portico_bench_api_{secrets.token_hex(4)}"
    admin = make_url(server_url).set(drivername="postgresql").render_as_string(hide_password=False)

    async def run(sql: str) -> None:
        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class Servers:
    portico: str  # base URLs
    peer: str
    uncached: str  # Portico keeping no search answers (PORTICO_SEARCH_CACHE_ENTRIES=0)
    database_url: str  # the scratch database all serve
    processes: list[LoggedProcess] = field(default_factory=list)

    def pid(self, base: str) -> int:
        """The process serving `base`."""
        bases = [self.portico, self.peer, self.uncached]
        return self.processes[bases.index(base)].popen.pid


@contextmanager
def serving(database_url: str, folder: Path, settings: dict[str, str]) -> Iterator[Servers]:
    """`portico serve` (which migrates the database as it starts) with these PORTICO_* `settings`
    besides its own, the peer, and a second `portico serve` that keeps no search answer (every search
    computed: the `search-miss` scenario), each one process."""
    portico_port, peer_port, uncached_port = free_port(), free_port(), free_port()
    env = clean_env(
        database_url=database_url,
        port=str(portico_port),
        master_key=MASTER_KEY,
        secret_keys=new_key(),
        log_format="json",
        rate_limit=UNLIMITED,  # the load's one key asks far faster than the default limit
        **settings,
    )
    local = "http://127.0.0.1:{}".format
    servers = Servers(local(portico_port), local(peer_port), local(uncached_port), database_url)
    try:
        portico = start("portico serve", portico_command("serve"), folder / "portico.log", env=env)
        servers.processes.append(portico)
        wait_ready(f"{servers.portico}/readyz", portico, 60)
        peer_env = clean_env() | {"PEER_DATABASE_URL": _asyncpg_dsn(database_url)}
        peer_command = [sys.executable, "-m", "uvicorn", "api_peer:app", "--port", str(peer_port)]
        peer_command += ["--no-access-log", "--log-level", "warning", "--http", "httptools"]
        peer = start("peer", peer_command, folder / "peer.log", env=peer_env, cwd=ROOT / "bench")
        servers.processes.append(peer)
        wait_ready(f"{servers.peer}/healthz", peer, 30)
        uncached_env = env | {"PORTICO_PORT": str(uncached_port), "PORTICO_SEARCH_CACHE_ENTRIES": "0"}
        command = portico_command("serve")
        uncached = start("portico serve, uncached", command, folder / "uncached.log", env=uncached_env)
        servers.processes.append(uncached)
        wait_ready(f"{servers.uncached}/readyz", uncached, 60)
        yield servers
    finally:
        stop(*servers.processes, seconds=20)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# --- The load ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    """What wrk sends: a GET of `path` with these headers."""

    path: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Rate:
    """One wrk run: requests/s, and the server's CPU time per request (ms) when its pid is known."""

    per_second: float
    cpu_ms: float | None


def wrk(
    base: str, load: Load, seconds: float, connections: int, threads: int, *, pid: int | None = None
) -> Rate:
    """One wrk run; fails unless every answer was 2xx and no socket error occurred. The server's CPU per
    request is what its process used over the run divided by the requests answered: a figure that the
    other work of a shared machine changes far less than it changes requests/s."""
    # A slow answer is a figure, not an error: wrk counts one after 2 s as a timeout by default.
    command = ["wrk", f"-c{connections}", f"-t{threads}", f"-d{seconds:g}s", "--timeout", "30s"]
    for name, value in load.headers.items():
        command += ["-H", f"{name}: {value}"]
    cpu_before = cpu_seconds(pid) if pid is not None else None
    output = subprocess.run([*command, base + load.path], capture_output=True, text=True, check=True).stdout
    cpu_after = cpu_seconds(pid) if pid is not None else None
    if "Non-2xx" in output or "Socket errors" in output:
        raise AssertionError(f"wrk on {base}{load.path} saw errors:\n{output}")
    rate, count = re.search(r"Requests/sec:\s+([\d.]+)", output), re.search(r"(\d+) requests in", output)
    assert rate, output
    assert count, output
    cpu_ms = None
    if cpu_before is not None and cpu_after is not None and int(count.group(1)):
        cpu_ms = 1000 * (cpu_after - cpu_before) / int(count.group(1))
    return Rate(float(rate.group(1)), cpu_ms)


@dataclass(frozen=True)
class Scenario:
    """A route to load on Portico, the same question to the peer when there is one, and the target."""

    name: str
    portico: Load
    peer: Load | None
    target: str
    met: Callable[[float, float | None], bool]  # (Portico's median req/s, median ratio) -> met?
    uncached: bool = False  # loads the Portico that keeps no search answers


@dataclass
class Figures:
    portico: list[Rate] = field(default_factory=list)
    peer: list[Rate] = field(default_factory=list)

    def ratios(self) -> list[float]:
        return [own.per_second / peer.per_second for own, peer in zip(self.portico, self.peer, strict=False)]

    def cpu_ratios(self) -> list[float]:
        """The peer's CPU per request ÷ Portico's, round by round: the share of Portico's cost that a
        request needs at the bottom, the throughput ratio one process would reach on a quiet machine."""
        pairs = zip(self.portico, self.peer, strict=False)
        return [peer.cpu_ms / own.cpu_ms for own, peer in pairs if own.cpu_ms and peer.cpu_ms]


def median_range(values: list[float], digits: int = 0) -> str:
    return f"{statistics.median(values):,.{digits}f} ({min(values):,.{digits}f} to {max(values):,.{digits}f})"


def measure(servers: Servers, scenario: Scenario, options: argparse.Namespace) -> Figures:
    """Portico and the peer loaded in turn, each round; a warm-up of each first."""
    own = servers.uncached if scenario.uncached else servers.portico
    loads = [(own, scenario.portico, servers.pid(own))]
    if scenario.peer is not None:
        loads.append((servers.peer, scenario.peer, servers.pid(servers.peer)))
    for base, load, _pid in loads:
        wrk(base, load, WARM_UP_SECONDS, options.connections, options.threads)
    figures = Figures()
    for round_ in range(options.rounds):
        # Alternate who goes first, so that neither always follows the other.
        ordered = loads if round_ % 2 == 0 else loads[::-1]
        for base, load, pid in ordered:
            rate = wrk(base, load, options.seconds, options.connections, options.threads, pid=pid)
            (figures.portico if base == own else figures.peer).append(rate)
        print(f"  round {round_ + 1}: Portico {_shown(figures.portico[-1])}", end="")
        print(f", peer {_shown(figures.peer[-1])}" if figures.peer else "", flush=True)
    return figures


def _shown(rate: Rate) -> str:
    cpu = f", {rate.cpu_ms:.2f} ms CPU per request" if rate.cpu_ms is not None else ""
    return f"{rate.per_second:,.0f} req/s{cpu}"


def report(scenario: Scenario, figures: Figures) -> bool:
    ratio = statistics.median(figures.ratios()) if figures.peer else None
    for name, rates in (("Portico", figures.portico), ("peer   ", figures.peer)):
        if not rates:
            continue
        print(f"{scenario.name}: {name} {median_range([rate.per_second for rate in rates])} req/s", end="")
        cpu = [rate.cpu_ms for rate in rates if rate.cpu_ms is not None]
        print(f", {median_range(cpu, 2)} ms CPU per request" if cpu else "")
    if figures.peer:
        print(f"{scenario.name}: Portico / peer {median_range(figures.ratios(), 2)} in requests/s", end="")
        cpu_ratios = figures.cpu_ratios()
        print(f", {median_range(cpu_ratios, 2)} in CPU per request" if cpu_ratios else "")
    met = scenario.met(statistics.median(rate.per_second for rate in figures.portico), ratio)
    print(f"{scenario.name}: target {scenario.target}: {'met' if met else 'NOT met'}")
    return met


# --- The scenarios -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Partner:
    """The partner the scenarios make their data for, and a client calling Portico with its key."""

    client: httpx.Client
    key: str


def new_partner(base: str) -> Partner:
    master = {"Authorization": f"Bearer {MASTER_KEY}"}
    with httpx.Client(base_url=base, headers=master) as admin:
        partner = _created(admin.post("/v1/partners", json={"name": "Bench"}))["id"]
        key = _created(admin.post(f"/v1/partners/{partner}/api-keys", json={"name": "bench"}))["key"]
    return Partner(httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}), key)


def _created(response: httpx.Response) -> dict[str, str]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, str] = response.json()
    return body


def one_instance(partner: Partner, servers: Servers) -> Scenario:
    """GET /v1/instances/{name} of a member clinic (its kind and portal shown): the key's lookup
    and the instance with its kind, nothing else. Checks that both servers give the same answer."""
    client = partner.client
    for name in ("tt_api_portal", "tt_api_clinic"):
        _created(client.post("/v1/instances", json={"name": name, "display_name": name}))
    _created(client.post("/v1/portals", json={"instance": "tt_api_portal"}))
    _created(client.post("/v1/portals/tt_api_portal/members", json={"instance": "tt_api_clinic"}))
    load = Load("/v1/instances/tt_api_clinic", {"Authorization": f"Bearer {partner.key}"})
    own = httpx.get(servers.portico + load.path, headers=load.headers)
    peer = httpx.get(servers.peer + load.path, headers=load.headers)
    assert own.status_code == peer.status_code == 200, (own.text, peer.text)
    assert own.json() == peer.json(), (own.json(), peer.json())
    assert own.headers["etag"] == peer.headers["etag"]
    return Scenario(
        "GET one instance", load, load, ">= 0.3x the peer", lambda _rate, ratio: (ratio or 0) >= 0.3
    )


_PORTALS: dict[str, str] = {}  # the bench portal's API key, by database


def _bench_portal(servers: Servers) -> str:
    """The portal of bench/availability.py (1,000 members, each 3 agendas of 14 days: ~300,000
    slots), made once in the scratch database as that bench makes it; its partner's key."""
    if servers.database_url not in _PORTALS:
        engine = create_engine(servers.database_url)

        async def made() -> str:
            try:
                key, slots = await build_portal(engine, members=1000, days=14, resources=3)
            finally:
                await engine.dispose()
            print(f"portal search: {slots:,} slots in the portal of 1,000 members", flush=True)
            return key

        _PORTALS[servers.database_url] = asyncio.run(made())
    return _PORTALS[servers.database_url]


def _search_load(servers: Servers) -> Load:
    key = _bench_portal(servers)
    load = Load("/v1/portals/tt_bench_portal/availability?service=P0", {"Authorization": f"Bearer {key}"})
    answers = []
    for base in (servers.portico, servers.uncached):
        answer = httpx.get(base + load.path, headers=load.headers, timeout=60)
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["items"]) == 20, answer.text
        answers.append({**answer.json(), "next_cursor": None})  # each names its own kept order
    assert answers[0] == answers[1], "a kept answer differs from a computed one"
    return load


def portal_search(_partner: Partner, servers: Servers) -> Scenario:
    """GET /v1/portals/{portal}/availability?service=P0: the first page of a one-service search on the
    bench portal, as every patient's search asks it: answered from the kept answer (app/search_cache.py)
    but for the first request after a write. No peer: the target is Portico's own rate."""
    load = _search_load(servers)
    return Scenario("portal search, first page", load, None, ">= 200 req/s", lambda rate, _ratio: rate >= 200)


def portal_search_miss(_partner: Partner, servers: Servers) -> Scenario:
    """The same search on a Portico that keeps no answer (PORTICO_SEARCH_CACHE_ENTRIES=0): what the
    first search after a write costs. No target: a figure."""
    load = _search_load(servers)
    return Scenario(
        "portal search, computed", load, None, "none (a figure)", lambda _r, _q: True, uncached=True
    )


SCENARIOS: dict[str, Callable[[Partner, Servers], Scenario]] = {
    "instance": one_instance,
    "search": portal_search,
    "search-miss": portal_search_miss,
}


# --- Main --------------------------------------------------------------------------------------------


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL, help="a PostgreSQL server (asyncpg URL)")
    parser.add_argument("--seconds", type=float, default=10, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS), help="default: all")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting of Portico's, e.g. db_pool_size=32 for PORTICO_DB_POOL_SIZE (repeatable)",
    )
    return parser.parse_args()


def main() -> int:
    options = arguments()
    if shutil.which("wrk") is None:
        print("bench/api.py needs wrk: apt-get install -y wrk (Debian, Ubuntu)", file=sys.stderr)
        return 2
    if not options.database_url.startswith("postgresql"):
        print("bench/api.py measures on PostgreSQL: --database-url postgresql+asyncpg://…", file=sys.stderr)
        return 2
    # SIGTERM as Ctrl-C: the `finally` blocks stop both servers and drop the database.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    folder = Path(tempfile.mkdtemp(prefix="portico-bench-api-"))
    all_met = True
    try:
        with ExitStack() as stack:
            url = stack.enter_context(scratch_database(options.database_url))
            settings = dict(setting.split("=", 1) for setting in options.setting)
            servers = stack.enter_context(serving(url, folder, settings))
            partner = new_partner(servers.portico)
            stack.callback(partner.client.close)
            for name in options.scenario or list(SCENARIOS):
                scenario = SCENARIOS[name](partner, servers)
                print(f"{scenario.name}: wrk -c{options.connections} -t{options.threads}, ", end="")
                print(f"{options.rounds} rounds of {options.seconds:g} s each", flush=True)
                all_met = report(scenario, measure(servers, scenario, options)) and all_met
    except KeyboardInterrupt:
        print("interrupted: servers stopped, database dropped", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0 if all_met else 1


if __name__ == "__main__":
    sys.exit(main())
