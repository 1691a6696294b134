"""GESDENT sync: client, stream importers, run queue, scheduler."""
