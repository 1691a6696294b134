"""CSV in and out: the response class, and reading a CSV from a raw or multipart body."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from app.domain.errors import InvalidCsv, UnsupportedMediaType

CSV_MEDIA_TYPE = "text/csv"
_RAW_TYPES = frozenset({"text/csv", "application/csv", "text/plain"})


class CsvResponse(Response):
    media_type = "text/csv; charset=utf-8"


CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            CSV_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


def csv_ok(description: str) -> dict[str, Any]:
    return {"description": description, "content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}}}


async def read_csv(request: Request) -> bytes:
    """The CSV of a `text/csv` body or of the `file` part of a multipart form."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type in _RAW_TYPES:
        return await request.body()
    if media_type == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if isinstance(upload, UploadFile):
            return await upload.read()
        if isinstance(upload, str):
            return upload.encode()
        raise InvalidCsv(
            "The multipart form needs a part named `file` holding the CSV.",
            errors=[{"field": "file", "message": "missing"}],
        )
    raise UnsupportedMediaType(
        "Send the CSV as `text/csv` or as the `file` part of `multipart/form-data`, "
        f"not `{media_type or 'nothing'}`."
    )


async def _received(request: Request) -> None:
    await request.body()  # kept by the request: read_csv parses it later, without the network


# A dependency of the route itself, so it runs before the principal's (which begins the request's
# transaction): the upload is received first. On SQLite that transaction holds the one write lock
# of the whole database, which a client trickling its upload must never keep from everyone else.
# Nothing is judged here: a request without a key still gets its 401 before any 415.
RECEIVED_FIRST = Depends(_received)
