"""GESDENT sync: client, stream importers, run queue, scheduler, and the sandbox server."""
