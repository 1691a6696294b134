"""API schemas (request and response bodies). Distinct from the table models in app/db/models.py."""
