"""Install the Node.js tools that check the spec as clients use it (tests/sdk/): `npm ci` in the
folder that holds package.json and package-lock.json, then touch a stamp. The set-up step of
`make test`, beside tools/bootstrap.py.

Usage (from the Makefile): python3 tools/npm_ci.py clients clients/node_modules/.installed

Without npm on the PATH it says so in one line and installs nothing (exit status 0): the SDK tests
then skip and say why, or fail with CI=true (here too: with CI=true a missing npm is an error).

Like bootstrap.py, it holds an exclusive lock (`<folder>/.npm-ci.lock`) while it installs, so that two
makes started together install once: the second waits, then finds the stamp fresh."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys

INPUTS = ("package.json", "package-lock.json")  # a newer one than the stamp means: install again


def main(argv: list[str]) -> int | str:
    try:
        _, folder, stamp = argv
    except ValueError:
        return "usage: python3 tools/npm_ci.py FOLDER STAMP"
    npm = shutil.which("npm")
    if npm is None:
        message = f"npm_ci: npm is not on the PATH; {folder}/ is not installed and the SDK tests will skip"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            return message.replace("will skip", "cannot run (CI=true)")
        print(message, flush=True)
        return 0
    inputs = [os.path.join(folder, name) for name in INPUTS]
    with open(os.path.join(folder, ".npm-ci.lock"), "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"npm_ci: another make is installing {folder}/; waiting for it", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        if _is_fresh(stamp, inputs):
            return 0
        print(f"npm_ci: installing {folder}/package-lock.json", flush=True)
        # The registry only to install; --no-audit and --no-fund ask it nothing more.
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=folder, check=False
        )
        if done.returncode != 0:
            return f"npm_ci: failed ({done.returncode}): npm ci in {folder}/"
        with open(stamp, "a"):
            pass
        os.utime(stamp)
    return 0


def _is_fresh(stamp: str, inputs: list[str]) -> bool:
    if not os.path.exists(stamp):
        return False
    built = os.path.getmtime(stamp)
    return all(os.path.getmtime(name) <= built for name in inputs)


if __name__ == "__main__":  # from the project's root, as make runs it
    sys.exit(main(sys.argv))
