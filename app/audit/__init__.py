"""The audit trail: every configuration write made by a caller (an API key, the master key, the
`portico` command) records, in its own transaction, who changed which target, how and when.

One mechanism for every writer (app/audit/recorder.py): a session that carries an audit context
(app/audit/context.py) collects the changes of the audited table models from the ORM's flushes, and
from the Core statements run through it on those tables, and writes them as `audit_events` rows just
before it commits. Sessions without a context (the sync, the delivery loop, the pruning pass) record
nothing: what they write is data, not configuration."""
