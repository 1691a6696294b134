"""The log lines: JSON or console as the setting and the stream say, with the context bound in
contextvars and the fields given as `extra`, and no field named like a secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider

from app import logs
from app.config import ConfigError, load_settings


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def restored() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    yield
    for handler in [h for h in root.handlers if h.get_name() == logs.HANDLER_NAME]:
        root.removeHandler(handler)
    root.setLevel(level)


def test_auto_is_json_outside_a_terminal_and_console_in_one(restored):
    assert logs.configure("info", "auto", io.StringIO()) == "json"
    assert logs.configure("info", "auto", Terminal()) == "console"
    assert logs.configure("info", "json", Terminal()) == "json"
    assert logs.configure("info", "console", io.StringIO()) == "console"


def test_a_json_line_has_time_level_logger_context_and_extra_fields(restored):
    buffer = io.StringIO()
    logs.configure("info", "json", buffer)
    bound = structlog.contextvars.bind_contextvars(run_id="r1", stream="users")
    try:
        logging.getLogger("portico.sync").info("imported %s", 3, extra={"outcome": "succeeded"})
    finally:
        structlog.contextvars.reset_contextvars(**bound)
    logging.getLogger("portico.sync").info("after the run")
    first, second = (json.loads(line) for line in buffer.getvalue().splitlines())
    assert first["event"] == "imported 3"
    assert first["level"] == "info"
    assert first["logger"] == "portico.sync"
    assert first["timestamp"].endswith("Z")
    assert (first["run_id"], first["stream"], first["outcome"]) == ("r1", "users", "succeeded")
    assert "run_id" not in second  # the context ends with the run


def test_a_line_written_in_a_span_names_its_trace_and_span(restored):
    buffer = io.StringIO()
    logs.configure("info", "json", buffer)
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        logging.getLogger("portico.sync").info("inside")
    logging.getLogger("portico.sync").info("outside")
    inside, outside = (json.loads(line) for line in buffer.getvalue().splitlines())
    context = span.get_span_context()
    assert inside["trace_id"] == f"{context.trace_id:032x}"
    assert inside["span_id"] == f"{context.span_id:016x}"
    assert "trace_id" not in outside
    assert "span_id" not in outside


def test_an_exception_is_one_json_line_with_its_traceback(restored):
    buffer = io.StringIO()
    logs.configure("info", "json", buffer)
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        logging.getLogger("portico").exception("unhandled")
    (line,) = buffer.getvalue().splitlines()
    assert "RuntimeError: a bug" in json.loads(line)["exception"]


def test_console_lines_are_for_people(restored):
    buffer = io.StringIO()
    logs.configure("info", "console", buffer)
    logging.getLogger("portico").info("hello", extra={"status": 200})
    line = buffer.getvalue()
    assert "hello" in line
    assert "status=200" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_the_level_filters_and_uvicorn_writes_through_the_same_handler(restored):
    buffer = io.StringIO()
    logs.configure("warning", "json", buffer)
    logging.getLogger("portico").info("not shown")
    logging.getLogger("uvicorn.error").warning("shown")
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert [line["event"] for line in lines] == ["shown"]
    assert lines[0]["logger"] == "uvicorn.error"


def test_fields_named_like_secrets_are_never_written(restored):
    buffer = io.StringIO()
    logs.configure("info", "json", buffer)
    logging.getLogger("portico").info("careless", extra={"password": "hunter2", "authorization": "Bearer x"})
    assert "hunter2" not in buffer.getvalue()
    assert "Bearer x" not in buffer.getvalue()


def test_the_format_setting_is_checked(monkeypatch):
    monkeypatch.setenv("PORTICO_LOG_FORMAT", "JSON")
    assert load_settings().log_format == "json"
    monkeypatch.setenv("PORTICO_LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="PORTICO_LOG_FORMAT"):
        load_settings()


def _without_time(line: str) -> dict[str, object]:
    fields: dict[str, object] = json.loads(line)
    assert str(fields.pop("timestamp")).endswith("Z")
    return fields


@pytest.mark.parametrize(
    ("name", "level", "message", "args", "extra"),
    [
        (
            "portico",
            logging.INFO,
            "%s %s %s %.1f ms",
            ("GET", "/v1/x", 200, 1.25),
            {"status": 200, "route": "/v1/x"},
        ),
        ("portico.sync", logging.WARNING, "run %s", ("r1",), {"secret": "s3cr3t", "outcome": None}),
        (
            "uvicorn.error",
            logging.ERROR,
            "odd %d%%",
            (5,),
            {"color_message": "\x1b[1modd\x1b[0m", "when": object},
        ),
        ("uvicorn.error", 5, "trace", (), {}),
    ],
)
def test_json_lines_are_the_lines_structlog_writes(name, level, message, args, extra):
    """JsonLines writes in one function what structlog's formatter writes through its processors:
    the same fields in the same order, for every kind of record Portico writes."""
    logging.addLevelName(5, "TRACE")
    record = logging.getLogger(name).makeRecord(name, level, "f.py", 1, message, args, None, extra=extra)
    tracer = TracerProvider().get_tracer("test")
    bound = structlog.contextvars.bind_contextvars(request_id="q1", stream="users")
    try:
        with tracer.start_as_current_span("work"):
            fast = logs.formatter("json").format(record)
            reference = logs._structlog_formatter("json").format(record)
    finally:
        structlog.contextvars.reset_contextvars(**bound)
    assert isinstance(logs.formatter("json"), logs.JsonLines)
    assert list(_without_time(fast).items()) == list(_without_time(reference).items())
