"""Create .venv and install Portico with its pinned dependencies and the development tools: the
set-up step of `make`.

Usage (from the Makefile): python3 tools/bootstrap.py .venv .venv/.installed [TOOL ...]

Each TOOL is a directory with its own pyproject.toml (gesdent_sandbox: the GESDENT sandbox and its
`gesdent-sandbox` command), installed in place beside Portico, in the same pip run: tools for
development and tests, kept out of Portico's wheel and image.

Several `make` commands may start at once on a fresh clone (`make run` and `make test`). The set-up
takes an exclusive lock on `<venv>.lock` (fcntl.flock: Linux and macOS), so one process installs while
the others wait, then find the stamp fresh and install nothing. The kernel releases the lock when its
holder dies, so an interrupted set-up never leaves the others stuck.

Written for old interpreters too (no syntax newer than Python 3.6), so that a `python3` older than
3.11 gets the message below rather than a SyntaxError."""

import fcntl
import os
import subprocess
import sys

MINIMUM = (3, 11)
INPUTS = ("pyproject.toml", "constraints.txt")  # a newer one than the stamp means: install again


def main(argv):
    if sys.version_info < MINIMUM:
        version = ".".join(str(part) for part in sys.version_info[:3])
        return (
            f"Portico needs Python 3.11+, and {sys.executable} is {version}; "
            "name another interpreter, e.g. make run PYTHON=python3.12"
        )
    try:
        _, venv, stamp, *tools = argv
    except ValueError:
        return "usage: python3 tools/bootstrap.py VENV STAMP [TOOL ...]"
    inputs = list(INPUTS) + [os.path.join(tool, "pyproject.toml") for tool in tools]
    with open(venv.rstrip("/") + ".lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"bootstrap: another make is setting up {venv}; waiting for it", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        if is_fresh(stamp, inputs):
            print(f"bootstrap: {venv} is up to date", flush=True)
            return 0
        install(venv, stamp, tools)
    return 0


def is_fresh(stamp, inputs):
    if not os.path.exists(stamp):
        return False
    built = os.path.getmtime(stamp)
    return all(os.path.getmtime(name) <= built for name in inputs)


def install(venv, stamp, tools):
    python = os.path.join(venv, "bin", "python")
    if not has_pip(python):
        # Absent, or a creation that was interrupted (or failed for want of python3-venv) left a
        # python without pip: make it again from scratch.
        run(sys.executable, "-m", "venv", "--clear", venv)
    print(f"bootstrap: installing Portico's dependencies into {venv}", flush=True)
    run(python, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    editable = ["-e", ".[dev]"]
    for tool in tools:
        editable += ["-e", "./" + tool]
    run(python, "-m", "pip", "install", "--quiet", "-c", "constraints.txt", *editable)
    with open(stamp, "a"):
        pass
    os.utime(stamp)


def has_pip(python):
    if not os.access(python, os.X_OK):
        return False
    found = subprocess.run(
        [python, "-m", "pip", "--version"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    )
    return found.returncode == 0


def run(*command):
    result = subprocess.run(command, check=False)  # the failure is said below, in one line
    if result.returncode != 0:
        sys.exit(f"bootstrap: failed ({result.returncode}): {' '.join(command)}")


if __name__ == "__main__":  # from the project's root, as make runs it
    sys.exit(main(sys.argv))
