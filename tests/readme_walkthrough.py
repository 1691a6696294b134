"""The README's walk-throughs as a script: their bash blocks in order, the two servers they are run
against (Portico and a GESDENT sandbox, started as the README says), one bash process running every
block, and what each block printed next to what the README shows.

tests/test_readme.py uses it. By hand, it prints what each block prints today, with the README's own
ports, ready to paste into the README, then any difference from the README (status 1 if one):

    .venv/bin/python -m tests.readme_walkthrough [README.md]
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.processes import LoggedProcess, clean_env, free_port, portico_command, running, wait_ready

README = Path(__file__).resolve().parents[1] / "README.md"
WALKTHROUGH_HEADING = "## Walk-through: "
# Where the README's servers listen; a run uses free ports and translates both ways.
README_PORTICO = "127.0.0.1:8000"
README_SANDBOX = "127.0.0.1:8900"
# Added to what the README puts before `make run`. The README's 30 s tick would let a scheduled run
# land between two steps of this quick run and turn a trigger's 202 into the 200 that the README warns
# about; a reader pasting by hand gets the scheduled runs the README describes.
TEST_SETTINGS = {"PORTICO_SCHEDULER_TICK_SECONDS": "3600", "PORTICO_LOG_LEVEL": "warning"}
BASH_TIMEOUT = 120  # seconds; the walk-throughs take about 15
READY_SECONDS = 30
STOP_SECONDS = 15
MARK = "@@readme-block-done@@"
# Set before the blocks: stop at the first failing command, say which, and no unset variables.
PRELUDE = """set -Eeuo pipefail
shopt -s inherit_errexit
trap 'echo "README command failed (status $?): $BASH_COMMAND" >&2' ERR
"""
# Fragments whose count in a block's output must match the README's (cheap and stable ones).
FRAGMENTS = (
    '"status":"succeeded"',
    '"status":"partial"',
    '"status":"failed"',
    '"base_url_source":"deployment"',
    '"base_url_source":"instance"',
    ": succeeded",  # the title of the manual run page, as `follow` prints it
)
_FENCE = re.compile(r"^```(\S*)\s*$")
_STATUS = re.compile(r"^HTTP (\d{3})$", re.M)
_PROBLEM = re.compile(r'"type":"(/problems/[a-z-]+)"')
_ENV_WORD = re.compile(r"^[A-Z_][A-Z0-9_]*=")


@dataclass(frozen=True)
class Block:
    """A ```bash block of a walk-through and the plain block after it (its output), if any."""

    line: int  # of the opening fence in README.md
    heading: str
    code: str
    output: str | None


@dataclass(frozen=True)
class Walkthroughs:
    blocks: list[Block]  # to paste into the reader's shell, in order
    portico_env: dict[str, str]  # the settings the README puts before `make run`
    sandbox_args: list[str]  # the options after `gesdent-sandbox`
    sandbox_output: str | None  # what the README shows the sandbox printing


def walkthrough_blocks(text: str) -> list[Block]:
    """The ```bash blocks of the `## Walk-through: …` sections, in order, each with the plain block
    that comes right after it (prose in between, no other block) as its output."""
    blocks: list[Block] = []
    section = heading = ""
    previous = ""  # the language of the last block seen
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("## "):
            section = line if line.startswith(WALKTHROUGH_HEADING) else ""
            heading, previous = line, ""
        elif line.startswith("### "):
            heading = line
        fence = _FENCE.match(line)
        if not fence:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not _FENCE.match(lines[end]):
            end += 1
        body, language = "\n".join(lines[index + 1 : end]), fence.group(1)
        if section and language == "bash":
            blocks.append(Block(index + 1, heading.lstrip("# "), body, None))
        elif section and language == "" and previous == "bash":
            last = blocks[-1]
            blocks[-1] = Block(last.line, last.heading, last.code, body)
        previous = language
        index = end + 1
    return blocks


def _server(code: str) -> tuple[str, list[str]] | None:
    """("portico", env words) for `NAME=value … make run`, ("sandbox", options) for
    `…/gesdent-sandbox …`: one-command blocks the README runs in another terminal; else None."""
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


def parse(text: str) -> Walkthroughs:
    """Split the walk-throughs into the reader's shell blocks and the servers' command lines."""
    blocks: list[Block] = []
    found: dict[str, tuple[list[str], Block]] = {}
    for block in walkthrough_blocks(text):
        server = _server(block.code)
        if server is None:
            blocks.append(block)
            continue
        kind, words = server
        if kind in found:
            raise ValueError(f"README.md:{block.line}: a second command that starts the {kind}")
        found[kind] = (words, block)
    missing = {"portico", "sandbox"} - found.keys()
    if missing:
        raise ValueError(
            f"the walk-throughs show no command that starts the {' and the '.join(sorted(missing))}"
        )
    env = dict(word.split("=", 1) for word in found["portico"][0])
    return Walkthroughs(blocks, env, found["sandbox"][0], found["sandbox"][1].output)


# --------------------------------------------------------------------------------------------------
# The servers


@dataclass(frozen=True)
class Ports:
    portico: int
    sandbox: int

    def to_test(self, text: str) -> str:
        """The README's addresses replaced by this run's."""
        text = text.replace(README_PORTICO, f"127.0.0.1:{self.portico}")
        return text.replace(README_SANDBOX, f"127.0.0.1:{self.sandbox}")

    def to_readme(self, text: str) -> str:
        """This run's addresses replaced by the README's, so outputs read as the README shows them."""
        text = text.replace(f"127.0.0.1:{self.portico}", README_PORTICO)
        return text.replace(f"127.0.0.1:{self.sandbox}", README_SANDBOX)


def sandbox_command(args: list[str], port: int) -> list[str]:
    """`gesdent-sandbox` with the README's options, on `port` instead of the README's: the command
    that the venv running the tests has (`make` installs it there, as the README says)."""
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
    sandbox: LoggedProcess


@contextmanager
def servers(walkthroughs: Walkthroughs, workdir: Path) -> Iterator[Servers]:
    """The sandbox with the README's options, and `portico serve` as `make run` starts it, with the
    README's settings, in `workdir` (so its SQLite file and key files are there), on free ports."""
    ports = Ports(free_port(), free_port())
    settings = {name: ports.to_test(value) for name, value in walkthroughs.portico_env.items()}
    env = clean_env() | settings | TEST_SETTINGS | {"PORTICO_PORT": str(ports.portico)}
    gesdent_sandbox = sandbox_command(walkthroughs.sandbox_args, ports.sandbox)
    with ExitStack() as stack:
        sandbox = stack.enter_context(_running("sandbox", gesdent_sandbox, workdir, clean_env()))
        portico = stack.enter_context(_running("portico", portico_command("serve"), workdir, env))
        wait_ready(f"http://127.0.0.1:{ports.sandbox}/_sandbox/info", sandbox, READY_SECONDS)
        wait_ready(f"http://127.0.0.1:{ports.portico}/readyz", portico, READY_SECONDS)
        yield Servers(ports, portico, sandbox)


# --------------------------------------------------------------------------------------------------
# One bash process for every block


@dataclass(frozen=True)
class Result:
    outputs: list[str]  # what each finished block printed on stdout, in the README's ports
    errors: list[str]  # and on stderr
    returncode: int
    stdout_tail: str  # what the block that did not finish printed
    stderr_tail: str


def script(blocks: list[Block], ports: Ports) -> str:
    parts = [PRELUDE]
    for block in blocks:
        parts.append(f"# README.md:{block.line}\n{ports.to_test(block.code)}\n")
        parts.append(f"printf '\\n%s\\n' '{MARK}'; printf '%s\\n' '{MARK}' >&2\n")
    return "".join(parts)


def run_blocks(blocks: list[Block], ports: Ports, workdir: Path, timeout: float = BASH_TIMEOUT) -> Result:
    """All blocks in one bash process, in `workdir` (the reader's project directory)."""
    scratch = workdir.parent / "tmp"
    scratch.mkdir(exist_ok=True)  # for the walk-through's mktemp -d
    env = clean_env() | {"TMPDIR": str(scratch)}
    done = subprocess.run(
        ["bash", "-c", script(blocks, ports)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    stdout = done.stdout.split(f"\n{MARK}\n")
    stderr = done.stderr.split(f"{MARK}\n")
    outputs = [ports.to_readme(text) for text in stdout[:-1]]
    return Result(outputs, stderr[: len(outputs)], done.returncode, stdout[-1], stderr[-1])


# --------------------------------------------------------------------------------------------------
# What to compare


def statuses(text: str) -> list[str]:
    """The `HTTP nnn` lines (the walk-through's `pt` prints one after each response)."""
    return _STATUS.findall(text)


def differences(block: Block, printed: str) -> list[str]:
    """How what a block printed differs from the README's output block, in the cheap stable parts."""
    shown = block.output or ""
    found = []
    if statuses(printed) != statuses(shown):
        found.append(f"HTTP statuses {statuses(printed)}, the README shows {statuses(shown)}")
    if _PROBLEM.findall(printed) != _PROBLEM.findall(shown):
        found.append(f"problem types {_PROBLEM.findall(printed)}, the README shows {_PROBLEM.findall(shown)}")
    for fragment in FRAGMENTS:
        if printed.count(fragment) != shown.count(fragment):
            found.append(
                f"{fragment} {printed.count(fragment)} time(s), the README shows {shown.count(fragment)}"
            )
    return found


def sandbox_lines(text: str) -> list[str]:
    """The resource and credential lines of the sandbox's banner (they follow from its options)."""
    return [
        " ".join(line.split())
        for line in text.splitlines()
        if re.match(r"^\s+(resource|users|reservations|availability)\s", line)
    ]


def problems(walkthroughs: Walkthroughs, result: Result, sandbox_output: str) -> list[str]:
    """Everything in which the run differs from the README: a block that failed or did not run, a
    block's answers, anything written on stderr, the sandbox's banner."""
    found = []
    for block, printed, errors in zip(walkthroughs.blocks, result.outputs, result.errors, strict=False):
        where = f"README.md:{block.line} ({block.heading})"
        found += [f"{where}: {text}" for text in differences(block, printed)]
        if errors.strip():
            found.append(f"{where}: wrote on stderr: {errors.strip()}")
    if len(result.outputs) < len(walkthroughs.blocks) or result.returncode != 0:
        failed = walkthroughs.blocks[min(len(result.outputs), len(walkthroughs.blocks) - 1)]
        found.append(
            f"README.md:{failed.line} ({failed.heading}): bash stopped with status {result.returncode}: "
            f"{result.stderr_tail.strip()}\nit printed:\n{result.stdout_tail[-3000:]}"
        )
    shown = sandbox_lines(walkthroughs.sandbox_output or "")
    if not shown or shown != sandbox_lines(sandbox_output):
        found.append(
            f"the sandbox printed:\n{sandbox_output}\nthe README shows:\n{walkthroughs.sandbox_output}"
        )
    return found


def main(argv: list[str]) -> int:
    readme = Path(argv[0]) if argv else README
    walkthroughs = parse(readme.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="portico-readme-") as folder:
        workdir = Path(folder) / "project"
        workdir.mkdir()
        with servers(walkthroughs, workdir) as running:
            result = run_blocks(walkthroughs.blocks, running.ports, workdir)
            sandbox_output = running.sandbox.output()
    for block, printed in zip(walkthroughs.blocks, result.outputs, strict=False):
        print(f"----- README.md:{block.line} ({block.heading})\n{printed.rstrip()}")
    found = problems(walkthroughs, result, sandbox_output)
    print("\n".join(found) or "no differences", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
