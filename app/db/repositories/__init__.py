"""Queries. Services call these; routers never do."""
