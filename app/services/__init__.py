"""Use cases: load, check with the domain rules, write. They flush; the request commits."""
