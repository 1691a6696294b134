"""Pure rules and value types of Portico: no I/O, no session, no web framework."""
