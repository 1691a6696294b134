"""`python -m gesdent_sandbox`: the `gesdent-sandbox` command."""

from gesdent_sandbox.cli import main

main()
