"""The shell commands of the docs, run as a reader runs them: the ```bash blocks of README.md and
docs/*.md, against real servers, each page's blocks in one bash process, and what each block prints
next to the output the page shows after it.

Which page runs where (`PAGES`):
- README.md, the five-minute tour: against `make run` (the page's own command line).
- docs/walkthroughs.md: against `… make run` with the page's settings and `gesdent-sandbox` with the
  page's options, both parsed from the page, so that a drift fails here.
- docs/operations.md: in the project folder the walk-throughs leave, Portico still running (its
  examples need a database with connection rules, keys beside it, a server to back up from).

A block whose first line is `# not run by the tests: <why>` is not run (a `docker build`, a
PostgreSQL of yours, `make test` itself); every other ```bash block of these pages is, and a ```bash
block on any other page of docs/ is refused unless it is marked so (tests/test_docs_commands.py).

Each page is run in a fresh "project folder" whose `.venv` is a link to the virtualenv running the
tests, so `.venv/bin/portico` and `.venv/bin/gesdent-sandbox` work there as in a checkout. The
servers listen on free loopback ports: the blocks are rewritten from the docs' `127.0.0.1:8000` and
`127.0.0.1:8900` before they run, and what they print is rewritten back. `TEST_SETTINGS` are added to
Portico's.

By hand, this prints what every block of a page prints today, with the docs' ports, ready to paste,
then any difference from the page (status 1 if one):

    .venv/bin/python -m tests.docs_commands [README.md | docs/walkthroughs.md]

(docs/walkthroughs.md runs docs/operations.md after it.)
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tests.processes import LoggedProcess, clean_env, free_port, portico_command, running, wait_ready

ROOT = Path(__file__).resolve().parents[1]
README = "README.md"
WALKTHROUGHS = "docs/walkthroughs.md"
OPERATIONS = "docs/operations.md"
# Where the docs' servers listen; a run uses free ports and translates both ways.
DOCS_PORTICO = "127.0.0.1:8000"
DOCS_SANDBOX = "127.0.0.1:8900"
# Added to what the docs put before `make run`. A 30 s tick would let a scheduled run land between
# two steps of this quick run and turn a trigger's 202 into the 200 that the walk-through warns about;
# a reader pasting by hand gets the scheduled runs the docs describe.
TEST_SETTINGS = {"PORTICO_SCHEDULER_TICK_SECONDS": "3600", "PORTICO_LOG_LEVEL": "warning"}
REQUIRED_TOOLS = ("bash", "curl", "python3")  # what the runnable pages need on the reader's machine
# Tools that only some blocks use: such a block is skipped, and said so, where the tool is missing.
OPTIONAL_TOOLS = ("sqlite3",)
BASH_TIMEOUT = 120  # seconds, per page; the walk-throughs take about 15
READY_SECONDS = 30
STOP_SECONDS = 15
MARK = "@@docs-block-done@@"
# Set before the blocks: stop at the first failing command, say which, and no unset variables.
PRELUDE = """set -Eeuo pipefail
shopt -s inherit_errexit
trap 'echo "docs command failed (status $?): $BASH_COMMAND" >&2' ERR
"""
# Fragments whose count in a block's output must match the page's (cheap and stable ones).
FRAGMENTS = (
    '"status":"succeeded"',
    '"status":"partial"',
    '"status":"failed"',
    '"base_url_source":"deployment"',
    '"base_url_source":"instance"',
    ": succeeded",  # the title of the manual run page, as `follow` prints it
)
# Fences that hold shell commands under another name: refused, so that every command is a ```bash
# block, which the checker either runs or sees marked.
OTHER_SHELL_LANGUAGES = frozenset({"sh", "shell", "console", "zsh", "shell-session", "shellsession"})
NOT_RUN = re.compile(r"^#\s*not run by the tests:(.*)$", re.IGNORECASE)
ELLIPSIS = "…"  # in a "lines" output, stands for any text within the line

_FENCE = re.compile(r"^```(\S*)\s*$")
_HEADING = re.compile(r"^#{1,6} ")
_STATUS = re.compile(r"^HTTP (\d{3})$", re.MULTILINE)
_PROBLEM = re.compile(r'"type":"(/problems/[a-z-]+)"')
_ENV_WORD = re.compile(r"^[A-Z_][A-Z0-9_]*=")

Compare = Literal["answers", "lines"]


@dataclass(frozen=True)
class PageRun:
    """How a runnable page is checked. `answers`: the HTTP statuses, problem types and FRAGMENTS of
    each output; `lines`: every line, with `…` standing for any text. `servers`: the page starts
    Portico (and the sandbox) itself; otherwise it runs in the folder of the page before it."""

    compare: Compare
    servers: bool


PAGES: dict[str, PageRun] = {
    README: PageRun("answers", servers=True),
    WALKTHROUGHS: PageRun("answers", servers=True),
    OPERATIONS: PageRun("lines", servers=False),
}


# --------------------------------------------------------------------------------------------------
# Reading the pages


@dataclass(frozen=True)
class Block:
    """A fenced block of a page; a ```bash block has the plain block right after it as its output."""

    page: str  # relative to the repository, e.g. docs/walkthroughs.md
    line: int  # of the opening fence
    heading: str
    language: str
    code: str
    output: str | None = None

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line} ({self.heading})"

    @property
    def not_run(self) -> str | None:
        """Why the block is not run (its first line says so), or None when it is run."""
        first = next((line for line in self.code.splitlines() if line.strip()), "")
        marker = NOT_RUN.match(first.strip())
        return marker.group(1).strip() if marker else None

    def needs(self) -> list[str]:
        """The optional tools the block runs."""
        return [tool for tool in OPTIONAL_TOOLS if re.search(rf"(^|[\s;&|(]){tool}\s", self.code, re.M)]


def doc_pages() -> list[str]:
    """README.md and every page under docs/, relative to the repository."""
    pages = [README, *(path.relative_to(ROOT).as_posix() for path in sorted((ROOT / "docs").rglob("*.md")))]
    return [page for page in pages if (ROOT / page).is_file()]


def fenced_blocks(page: str, text: str | None = None) -> list[Block]:
    """Every fenced block of `page`, in order; a ```bash block with the plain block that comes right
    after it (prose in between, no other block) as its output."""
    lines = (text if text is not None else (ROOT / page).read_text(encoding="utf-8")).splitlines()
    blocks: list[Block] = []
    heading, previous = "", ""
    index = 0
    while index < len(lines):
        line = lines[index]
        if _HEADING.match(line):
            heading, previous = line.lstrip("# "), ""
        fence = _FENCE.match(line)
        if not fence:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not _FENCE.match(lines[end]):
            end += 1
        body, language = "\n".join(lines[index + 1 : end]), fence.group(1)
        if language == "" and previous == "bash" and blocks[-1].output is None:
            blocks[-1] = Block(page, blocks[-1].line, blocks[-1].heading, "bash", blocks[-1].code, body)
        else:
            blocks.append(Block(page, index + 1, heading, language, body))
        previous = language
        index = end + 1
    return blocks


def _server(code: str) -> tuple[str, list[str]] | None:
    """("portico", env words) for `NAME=value … make run`, ("sandbox", options) for
    `…/gesdent-sandbox …`: one-command blocks that the docs run in another terminal; else None."""
    joined = code.replace("\\\n", " ")
    lines = [line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if len(lines) != 1:
        return None
    try:
        words = shlex.split(lines[0], comments=True)
    except ValueError:  # an unclosed quote: not a command line of ours
        return None
    settings = [word for word in words if _ENV_WORD.match(word)]
    rest = words[len(settings) :]
    if rest == ["make", "run"]:
        return "portico", settings
    if rest and rest[0].endswith("/gesdent-sandbox") and not settings:
        return "sandbox", rest[1:]
    return None


@dataclass(frozen=True)
class Script:
    """What a page runs: its blocks, in one bash process, and the servers they need."""

    page: str
    blocks: list[Block]
    servers: list[Block] = field(default_factory=list)  # the command lines run in other terminals
    portico_env: dict[str, str] | None = None  # the settings before `make run`; None: no Portico
    sandbox_args: list[str] | None = None  # the options after `gesdent-sandbox`; None: no sandbox
    sandbox_output: str | None = None  # what the page shows the sandbox printing

    @property
    def compare(self) -> Compare:
        return PAGES[self.page].compare


def parse(page: str, text: str | None = None) -> Script:
    """Split a runnable page's ```bash blocks into the reader's shell blocks and the servers' command
    lines; marked blocks are left out."""
    blocks: list[Block] = []
    found: dict[str, tuple[list[str], Block]] = {}
    for block in fenced_blocks(page, text):
        if block.language != "bash" or block.not_run is not None:
            continue
        server = _server(block.code)
        if server is None:
            blocks.append(block)
            continue
        kind, words = server
        if not PAGES[page].servers:
            raise ValueError(
                f"{block.where}: this page runs in the folder of the one before; it starts no {kind}"
            )
        if kind in found:
            raise ValueError(f"{block.where}: a second command that starts the {kind}")
        found[kind] = (words, block)
    if PAGES[page].servers and "portico" not in found:
        raise ValueError(f"{page} shows no command that starts Portico (`make run`)")
    portico = found.get("portico")
    sandbox = found.get("sandbox")
    return Script(
        page,
        blocks,
        [block for _, block in found.values()],
        dict(word.split("=", 1) for word in portico[0]) if portico else None,
        sandbox[0] if sandbox else None,
        sandbox[1].output if sandbox else None,
    )


_LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(page: str) -> set[str]:
    """The anchors GitHub gives the headings of `page` (lower case, punctuation dropped, spaces to
    hyphens, repeats numbered)."""
    seen: dict[str, int] = {}
    found = set()
    in_fence = False
    for line in (ROOT / page).read_text(encoding="utf-8").splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and _HEADING.match(line):
            slug = re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def broken_links(page: str) -> list[str]:
    """The relative links of `page` (outside code blocks) to a file or heading that is not there."""
    broken = []
    in_fence = False
    for number, line in enumerate((ROOT / page).read_text(encoding="utf-8").splitlines(), start=1):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        for target in _LINK.findall(re.sub(r"`[^`]*`", "", line)):
            if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
                continue
            path, _, fragment = target.partition("#")
            file = (ROOT / page).parent / path if path else ROOT / page
            relative = file.resolve().relative_to(ROOT).as_posix() if file.exists() else None
            if relative is None:
                broken.append(f"{page}:{number}: {target}: no such file")
            elif fragment and relative.endswith(".md") and fragment not in anchors(relative):
                broken.append(f"{page}:{number}: {target}: no such heading in {relative}")
    return broken


# --------------------------------------------------------------------------------------------------
# The servers


@dataclass(frozen=True)
class Ports:
    portico: int
    sandbox: int

    def to_test(self, text: str) -> str:
        """The docs' addresses replaced by this run's."""
        text = text.replace(DOCS_PORTICO, f"127.0.0.1:{self.portico}")
        return text.replace(DOCS_SANDBOX, f"127.0.0.1:{self.sandbox}")

    def to_docs(self, text: str) -> str:
        """This run's addresses replaced by the docs', so outputs read as the docs show them."""
        text = text.replace(f"127.0.0.1:{self.portico}", DOCS_PORTICO)
        return text.replace(f"127.0.0.1:{self.sandbox}", DOCS_SANDBOX)


def sandbox_command(args: list[str], port: int) -> list[str]:
    """`gesdent-sandbox` with the page's options, on `port` instead of the page's: the command
    that the venv running the tests has (`make` installs it there, as the docs say)."""
    chosen, replaced, skip = [], False, False
    for index, word in enumerate(args):
        if skip:
            skip = False
        elif word == "--port":
            chosen += ["--port", str(port)]
            replaced = skip = index + 1 < len(args)
        elif word.startswith("--port="):
            chosen.append(f"--port={port}")
            replaced = True
        else:
            chosen.append(word)
    if not replaced:
        chosen += ["--port", str(port)]
    return [str(Path(sys.executable).with_name("gesdent-sandbox")), *chosen]


def project(folder: Path) -> Path:
    """A fresh project folder in `folder`, as a reader's checkout has it for the docs' commands: its
    `.venv` is the virtualenv running the tests (`.venv/bin/portico`, `.venv/bin/gesdent-sandbox`)."""
    workdir = folder / "project"
    workdir.mkdir()
    (workdir / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    return workdir


def _running(
    name: str, command: list[str], cwd: Path, env: dict[str, str]
) -> AbstractContextManager[LoggedProcess]:
    """`command` in `cwd`, its output in `name`.log beside `cwd` (out of the reader's project)."""
    log = cwd.parent / f"{name}.log"
    return running(name, command, log, env=env, cwd=cwd, stop_seconds=STOP_SECONDS)


@dataclass
class Servers:
    ports: Ports
    portico: LoggedProcess
    sandbox: LoggedProcess | None


@contextmanager
def servers(script: Script, workdir: Path) -> Iterator[Servers]:
    """`portico serve` as `make run` starts it, with the page's settings, in `workdir` (so its SQLite
    file and key files are there), and the sandbox with the page's options if it has one; on free
    ports."""
    assert script.portico_env is not None, f"{script.page} starts no Portico"
    ports = Ports(free_port(), free_port())
    settings = {name: ports.to_test(value) for name, value in script.portico_env.items()}
    env = clean_env() | settings | TEST_SETTINGS | {"PORTICO_PORT": str(ports.portico)}
    with ExitStack() as stack:
        sandbox = None
        if script.sandbox_args is not None:
            command = sandbox_command(script.sandbox_args, ports.sandbox)
            sandbox = stack.enter_context(_running("sandbox", command, workdir, clean_env()))
        portico = stack.enter_context(_running("portico", portico_command("serve"), workdir, env))
        if sandbox is not None:
            wait_ready(f"http://127.0.0.1:{ports.sandbox}/_sandbox/info", sandbox, READY_SECONDS)
        wait_ready(f"http://127.0.0.1:{ports.portico}/readyz", portico, READY_SECONDS)
        yield Servers(ports, portico, sandbox)


# --------------------------------------------------------------------------------------------------
# One bash process for every block of a page


@dataclass(frozen=True)
class Result:
    ran: list[Block]  # the blocks run, in order (the page's, less those skipped)
    skipped: list[tuple[Block, list[str]]]  # blocks not run, with the missing tools they need
    outputs: list[str]  # what each finished block printed on stdout, in the docs' ports
    errors: list[str]  # and on stderr
    returncode: int
    stdout_tail: str  # what the block that did not finish printed
    stderr_tail: str


def missing_tools(tools: tuple[str, ...] | list[str]) -> list[str]:
    return [tool for tool in tools if shutil.which(tool) is None]


def script_text(blocks: list[Block], ports: Ports) -> str:
    parts = [PRELUDE]
    for block in blocks:
        parts.append(f"# {block.page}:{block.line}\n{ports.to_test(block.code)}\n")
        parts.append(f"printf '\\n%s\\n' '{MARK}'; printf '%s\\n' '{MARK}' >&2\n")
    return "".join(parts)


def run_blocks(script: Script, ports: Ports, workdir: Path, timeout: float = BASH_TIMEOUT) -> Result:
    """All the page's blocks in one bash process, in `workdir` (the reader's project folder); a block
    that needs a missing optional tool is skipped."""
    ran, skipped = [], []
    for block in script.blocks:
        missing = missing_tools(block.needs())
        if missing:
            skipped.append((block, missing))
        else:
            ran.append(block)
    scratch = workdir.parent / "tmp"
    scratch.mkdir(exist_ok=True)  # for the walk-through's mktemp -d
    env = clean_env() | {"TMPDIR": str(scratch)}
    done = subprocess.run(
        ["bash", "-c", script_text(ran, ports)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    stdout = done.stdout.split(f"\n{MARK}\n")
    stderr = done.stderr.split(f"{MARK}\n")
    outputs = [ports.to_docs(text) for text in stdout[:-1]]
    return Result(ran, skipped, outputs, stderr[: len(outputs)], done.returncode, stdout[-1], stderr[-1])


# --------------------------------------------------------------------------------------------------
# What to compare


def statuses(text: str) -> list[str]:
    """The `HTTP nnn` lines (the walk-through's `pt` prints one after each response)."""
    return _STATUS.findall(text)


def _lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return lines


def line_matches(shown: str, printed: str) -> bool:
    """Whether a printed line is the line shown, where `…` in it stands for any text."""
    pattern = ".*".join(re.escape(part) for part in shown.split(ELLIPSIS))
    return re.fullmatch(pattern, printed) is not None


def differences(block: Block, printed: str, compare: Compare) -> list[str]:
    """How what a block printed differs from the output the page shows after it."""
    shown = block.output or ""
    if compare == "lines":
        want, got = _lines(shown), _lines(printed)
        if len(want) != len(got) or not all(map(line_matches, want, got)):
            return [f"printed:\n{printed.rstrip()}\nthe page shows:\n{shown.rstrip()}"]
        return []
    found = []
    if statuses(printed) != statuses(shown):
        found.append(f"HTTP statuses {statuses(printed)}, the page shows {statuses(shown)}")
    if _PROBLEM.findall(printed) != _PROBLEM.findall(shown):
        found.append(f"problem types {_PROBLEM.findall(printed)}, the page shows {_PROBLEM.findall(shown)}")
    found += [
        f"{fragment} {printed.count(fragment)} time(s), the page shows {shown.count(fragment)}"
        for fragment in FRAGMENTS
        if printed.count(fragment) != shown.count(fragment)
    ]
    return found


def sandbox_lines(text: str) -> list[str]:
    """The resource and credential lines of the sandbox's banner (they follow from its options)."""
    return [
        " ".join(line.split())
        for line in text.splitlines()
        if re.match(r"^\s+(resource|users|reservations|availability)\s", line)
    ]


def problems(script: Script, result: Result, sandbox_output: str | None = None) -> list[str]:
    """Everything in which the run differs from the page: a block that failed or did not run, a
    block's output, anything written on stderr, the sandbox's banner."""
    found = []
    for block, printed, errors in zip(result.ran, result.outputs, result.errors, strict=False):
        found += [f"{block.where}: {text}" for text in differences(block, printed, script.compare)]
        if errors.strip():
            found.append(f"{block.where}: wrote on stderr: {errors.strip()}")
    if len(result.outputs) < len(result.ran) or result.returncode != 0:
        failed = result.ran[min(len(result.outputs), len(result.ran) - 1)] if result.ran else None
        where = failed.where if failed else script.page
        found.append(
            f"{where}: bash stopped with status {result.returncode}: "
            f"{result.stderr_tail.strip()}\nit printed:\n{result.stdout_tail[-3000:]}"
        )
    if script.sandbox_args is not None:
        shown = sandbox_lines(script.sandbox_output or "")
        if not shown or shown != sandbox_lines(sandbox_output or ""):
            found.append(f"the sandbox printed:\n{sandbox_output}\nthe page shows:\n{script.sandbox_output}")
    return found


def skipped_reason(results: list[Result]) -> str | None:
    """Which blocks were skipped for want of a tool, or None."""
    skipped = [
        f"{block.where} (needs {', '.join(tools)})" for result in results for block, tools in result.skipped
    ]
    return "not run, a tool is missing: " + "; ".join(skipped) if skipped else None


# --------------------------------------------------------------------------------------------------
# By hand


def _show(script: Script, result: Result) -> None:
    for block, printed in zip(result.ran, result.outputs, strict=False):
        print(f"----- {block.where}\n{printed.rstrip()}")


def main(argv: list[str]) -> int:
    page = argv[0] if argv else WALKTHROUGHS
    first = parse(page)
    then = [parse(OPERATIONS)] if page == WALKTHROUGHS else []
    found: list[str] = []
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="portico-docs-") as folder:
        workdir = project(Path(folder))
        with servers(first, workdir) as running_now:
            for script in [first, *then]:
                result = run_blocks(script, running_now.ports, workdir)
                sandbox = running_now.sandbox.output() if running_now.sandbox else None
                _show(script, result)
                found += problems(script, result, sandbox)
                results.append(result)
    skipped = skipped_reason(results)
    print("\n".join([*found, *([skipped] if skipped else [])]) or "no differences", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
