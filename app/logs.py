"""Portico's log lines: one JSON object a line for machines, readable lines for people at a terminal.

Every logger of the process (Portico's own, uvicorn's, the libraries') goes through one handler on
stderr, whose structlog formatter adds the time, the level, the logger's name, the context bound in
contextvars (a request's `request_id`, a sync run's `run_id`, `instance_id` and `stream`), the
`trace_id` and `span_id` of the span the line was written in when tracing is on, and the fields a
call gives as `extra`. The code logs with the standard library; structlog only formats,
so a module never needs to know how its lines end up written.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import TextIO

import structlog
from opentelemetry import trace
from structlog.typing import EventDict, Processor, WrappedLogger

TRACE = 5  # uvicorn's level below DEBUG
HANDLER_NAME = "portico"
# Loud at INFO and of no use to an operator: one line per GESDENT request, per scheduler tick.
QUIETER = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "apscheduler": logging.WARNING,
    "alembic.runtime.plugins": logging.WARNING,
}
# No field of these names is ever written, whoever logs it (a safety net: nothing logs them today).
SECRET_FIELDS = frozenset(
    {"authorization", "api_key", "key", "master_key", "password", "secret", "secret_keys", "token"}
)


def resolve_format(log_format: str, stream: TextIO) -> str:
    """`json` or `console`: `auto` is console at a terminal, JSON anywhere else."""
    if log_format != "auto":
        return log_format
    return "console" if _is_terminal(stream) else "json"


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


def level_number(level: str) -> int:
    return TRACE if level.lower() == "trace" else logging.getLevelNamesMapping()[level.upper()]


def _redact(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    event.pop("color_message", None)  # uvicorn's copy of the message, with terminal colours
    for name in SECRET_FIELDS & event.keys():
        event[name] = "[redacted]"
    return event


def _trace_ids(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """The trace and span a line was written in, when tracing is on: a log line leads to its trace."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event.setdefault("trace_id", format(context.trace_id, "032x"))
        event.setdefault("span_id", format(context.span_id, "016x"))
    return event


def formatter(log_format: str, *, colors: bool = False) -> logging.Formatter:
    """The formatter of `json` or `console` lines (in colour at a terminal)."""
    if log_format == "json":
        return JsonLines(_structlog_formatter("json"))
    return _structlog_formatter(log_format, colors=colors)


def _structlog_formatter(log_format: str, *, colors: bool = False) -> structlog.stdlib.ProcessorFormatter:
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _trace_ids,
        _redact,
    ]
    renderer: Processor
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if log_format == "json":
        final.append(structlog.processors.format_exc_info)
        renderer = structlog.processors.JSONRenderer(default=str)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=colors)
    return structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=[*final, renderer])


# What a LogRecord holds of its own: anything else on a record came from `extra`.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
}


class JsonLines(logging.Formatter):
    """The `json` lines, written as structlog's formatter writes them (same fields, same order),
    by one function: every request writes a line, and structlog's way, a copy of the record taken
    through nine processors and the standard formatter again, cost as much as a tenth of a request
    that reads one row. A line with a traceback or a stack, rare, is left to `full`."""

    def __init__(self, full: logging.Formatter) -> None:
        super().__init__()
        self.full = full

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info or record.stack_info:
            return self.full.format(record)
        event: EventDict = {"event": record.getMessage()}
        structlog.contextvars.merge_contextvars(None, "", event)
        event["level"] = record.levelname.lower()
        event["logger"] = record.name
        for name, value in record.__dict__.items():
            if name not in _RECORD_ATTRIBUTES:
                event[name] = value
        event["timestamp"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        return json.dumps(_redact(None, "", _trace_ids(None, "", event)), default=str)


def configure(level: str = "info", log_format: str = "auto", stream: TextIO | None = None) -> str:
    """Send every log record of the process to `stream` (stderr) as `log_format` says; returns the
    format chosen (`json` or `console`). Calling it again replaces what it set up before."""
    stream = stream or sys.stderr
    chosen = resolve_format(log_format, stream)
    # What no line shows is not gathered for each: the calling file and line (a walk up the stack;
    # the logging module's own switch for it), the thread's and the process's names.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None
    handler = logging.StreamHandler(stream)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(formatter(chosen, colors=chosen == "console" and _is_terminal(stream)))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level_number(level))
    # uvicorn's loggers write through the root's handler, not handlers of their own; its access log
    # is off (app/request_log.py writes one line per request instead).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.asgi"):
        own = logging.getLogger(name)
        own.handlers.clear()
        own.propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    for name, quieter in QUIETER.items():
        logging.getLogger(name).setLevel(max(quieter, level_number(level)))
    return chosen
