"""Loading what a route names in its path only once the request has been validated.

FastAPI solves a route's dependencies before it validates the route's own query parameters, headers
and body. A dependency that loads the instance of `/v1/instances/{name}` would therefore answer 404
for an unknown name where a malformed request must get its 422, and the answer would depend on how
the route happens to declare its inputs. So such a dependency returns a `Lookup`, a load not yet
run, and `LookupRoute` runs the route's lookups when FastAPI has validated everything, just before
the endpoint: the endpoint receives the loaded value, and the order of the answers (401 and 403,
then 422, then 404) holds by construction. An endpoint that checks more of the request itself before
the lookup may answer (the media type of an upload, say) annotates the parameter `Lookup[...]`, and
awaits it when its checks are done.

A dependency is solved once per request and every route or dependency naming it shares the result;
a `Lookup` keeps what it loaded, so the row is read once however many places need it.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Generic, TypeVar, get_args, get_origin

from app.db.session import SessionRoute

T = TypeVar("T")


class Lookup(Generic[T]):
    """A load that runs at most once, when first awaited; later awaits answer what it loaded."""

    def __init__(self, load: Callable[[], Awaitable[T]]) -> None:
        self._load = load
        self._loaded: list[T] = []

    async def __call__(self) -> T:
        if not self._loaded:
            self._loaded.append(await self._load())
        return self._loaded[0]


class LookupRoute(SessionRoute):
    """A route whose endpoint receives the values of its lookups, loaded after validation (and whose
    request's session is ended as every route's, app/db/session.py)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _with_lookups_loaded(endpoint), **kwargs)


def _with_lookups_loaded(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """`endpoint`, called with every `Lookup` among its arguments replaced by what it loads, in the
    order of the parameters, except those it awaits itself. `functools.wraps` keeps the signature
    FastAPI reads the route from."""
    if not inspect.iscoroutinefunction(endpoint):
        raise TypeError(f"{endpoint.__qualname__}: a LookupRoute's endpoint must be `async def`")
    awaited_by_endpoint = _declared_lookups(endpoint)

    @functools.wraps(endpoint)
    async def call(**arguments: Any) -> Any:
        for name, value in arguments.items():
            if isinstance(value, Lookup) and name not in awaited_by_endpoint:
                arguments[name] = await value()
        return await endpoint(**arguments)

    return call


def _declared_lookups(endpoint: Callable[..., Any]) -> frozenset[str]:
    """The parameters `endpoint` annotates `Lookup[...]` (bare or `Annotated`)."""
    hints = typing.get_type_hints(endpoint, include_extras=True)
    unwrapped = {
        name: get_args(hint)[0] if get_origin(hint) is Annotated else hint for name, hint in hints.items()
    }
    return frozenset(name for name, hint in unwrapped.items() if get_origin(hint) is Lookup)
