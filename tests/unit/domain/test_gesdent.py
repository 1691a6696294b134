"""GESDENT connection values: resource IDs, credentials, the base URL. tests/api/test_gesdent.py keeps
the paths through HTTP (the 422s, what is stored and shown)."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from app.domain.gesdent import (
    MAX_RESOURCES,
    RESOURCE_ID_RE,
    base_url_problem,
    literal_address_problem,
    normalise_base_url,
    normalise_resource_ids,
    split_credential,
    split_resource_ids,
)

# --- Resource IDs -----------------------------------------------------------------------------------

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
resource_ids = st.lists(st.text(ALNUM, min_size=1, max_size=8), min_size=2, max_size=5).map("-".join)
SPACES = st.text(" \t\n\r\u00a0\u3000", max_size=3)


def as_written(value: str) -> st.SearchStrategy[str]:
    """`value` as a person may paste it: any letter in lower case, whitespace around it."""
    lowered = st.lists(st.booleans(), min_size=len(value), max_size=len(value)).map(
        lambda low: "".join(c.lower() if lower else c for c, lower in zip(value, low, strict=True))
    )
    return st.builds(lambda before, text, after: before + text + after, SPACES, lowered, SPACES)


pasted = resource_ids.flatmap(as_written)


def canonical(values: list[str]) -> list[str]:
    """First-seen order, repeats dropped."""
    return list(dict.fromkeys(values))


@given(st.lists(resource_ids, min_size=1, max_size=MAX_RESOURCES, unique=True))
def test_valid_ids_are_taken_as_they_are(ids: list[str]) -> None:
    assert normalise_resource_ids(ids) == (ids, [])


@given(st.lists(resource_ids, min_size=1, max_size=5), st.data())
def test_case_and_whitespace_are_forgiven_order_kept_repeats_dropped(
    pool: list[str], data: st.DataObject
) -> None:
    ids = data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=20))
    as_pasted = [data.draw(as_written(value)) for value in ids]
    assert normalise_resource_ids(as_pasted) == (canonical(ids), [])


@given(st.lists(st.one_of(pasted, st.text(max_size=12)), max_size=60))
def test_normalising_is_idempotent(values: list[str]) -> None:
    ids, _ = normalise_resource_ids(values)
    if 1 <= len(ids) <= MAX_RESOURCES:
        assert normalise_resource_ids(ids) == (ids, [])
    assert all(RESOURCE_ID_RE.match(i) and len(i) <= 100 for i in ids)


@given(st.lists(st.one_of(pasted, st.text(max_size=12)), min_size=1, max_size=20))
def test_every_invalid_value_is_named_by_its_index_and_the_valid_ones_kept(values: list[str]) -> None:
    ids, problems = normalise_resource_ids(values)
    written = [v.strip() for v in values]
    valid = [v.upper() for v in written]
    # The letters as written must be ASCII: upper() makes some others ASCII ones (\u00df-1 is SS-1).
    bad = [
        i
        for i, v in enumerate(valid)
        if not (RESOURCE_ID_RE.match(v) and len(v) <= 100 and written[i].isascii())
    ]
    assert problems == [
        f"resource_ids[{i}]: {values[i]!r} is not a GESDENT resource ID (e.g. EJEJQKV5-ETREAXNR)" for i in bad
    ]
    assert ids == canonical([v for i, v in enumerate(valid) if i not in bad])


@pytest.mark.parametrize(
    "value",
    ["", " ", "EJEJQKV5", "-EJEJQKV5", "EJEJQKV5-", "EJ--QKV5", "EJ_QK", "EJ QK-V5", "É-1", "A-1\nB-2"],
)
def test_not_a_resource_id(value: str) -> None:
    assert normalise_resource_ids([value])[0] == []


def test_the_limits() -> None:
    assert normalise_resource_ids([]) == ([], ["resource_ids: at least one resource ID is needed"])
    longest = "A-" + "B" * 98
    assert normalise_resource_ids([longest]) == ([longest], [])
    assert normalise_resource_ids([longest + "B"])[0] == []
    fifty = [f"R-{i}" for i in range(MAX_RESOURCES)]
    assert normalise_resource_ids(fifty) == (fifty, [])
    assert normalise_resource_ids([*fifty, "R-50"]) == ([*fifty, "R-50"], ["resource_ids: at most 50"])
    assert normalise_resource_ids([*fifty, "r-0", " R-1 "]) == (fifty, [])  # repeats are not counted


def test_the_procedures_own_id() -> None:
    procedure = "EJEJQKV5-ETREAXNR-IF4YDMXE-S4EEOH4W-3ES2"
    assert normalise_resource_ids([f"  {procedure.lower()}\n", procedure]) == ([procedure], [])


# --- One string of IDs, as pasted -----------------------------------------------------------------------

separators = st.text(" ,;\t\n\r", min_size=1, max_size=4)


@given(st.lists(st.text(ALNUM + "-", min_size=1, max_size=10), max_size=10), st.data())
def test_ids_split_on_commas_semicolons_and_whitespace(ids: list[str], data: st.DataObject) -> None:
    text = data.draw(st.sampled_from(["", " ", "\n"]))
    for value in ids:
        text += value + data.draw(separators)
    assert split_resource_ids(text) == ids


def test_split_examples() -> None:
    assert split_resource_ids("A-1, B-2;C-3\n\tD-4  ") == ["A-1", "B-2", "C-3", "D-4"]
    assert split_resource_ids(" ,; \n") == []
    assert split_resource_ids("A-1") == ["A-1"]


# --- Credentials ----------------------------------------------------------------------------------------

usernames = st.text(min_size=1).filter(lambda u: ":" not in u and u.strip() == u and u != "")
passwords = st.text().filter(lambda p: p.strip() == p)


@given(username=usernames, password=passwords, a=SPACES, b=SPACES, c=SPACES, d=SPACES)
def test_a_credential_is_split_at_its_first_colon_without_the_spaces_around(
    *, username: str, password: str, a: str, b: str, c: str, d: str
) -> None:
    assert split_credential(f"{a}{username}{b}:{c}{password}{d}") == (username, password)


@pytest.mark.parametrize(
    ("value", "pair"),
    [
        ("digest:wOPnLZytlYwv1pZA6Wse", ("digest", "wOPnLZytlYwv1pZA6Wse")),
        ("digest: wOPn", ("digest", "wOPn")),  # the procedure's own form
        ("u:p:q", ("u", "p:q")),
        ("u:", ("u", "")),  # no password: the stored one is kept (app/schemas/gesdent.py)
        ("u: ", ("u", "")),
        ("nocolon", None),
        ("", None),
        (":pw", None),
        ("  :pw", None),
    ],
)
def test_credential_examples(value: str, pair: tuple[str, str] | None) -> None:
    assert split_credential(value) == pair


# --- The base URL -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://gesdent.example/api/",
        "https://gesdent.example/api",
        "http://gesdent.example",
        "HTTPS://GESDENT.example/",
        "https://gesdent.example:8443/",
        "http://127.0.0.1:8900/",  # where it may point is another rule: literal_address_problem
        "https://[2001:db8::1]/",
        "https://clínica.example/",
    ],
)
def test_valid_base_urls(url: str) -> None:
    assert base_url_problem(url) is None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://gesdent.example/", "must be an http:// or https:// URL"),
        ("gesdent.example/api", "must be an http:// or https:// URL"),
        ("//gesdent.example/", "must be an http:// or https:// URL"),
        ("javascript:alert(1)", "must be an http:// or https:// URL"),
        ("https:///api/", "must name a host"),
        ("https:gesdent.example", "must name a host"),
        ("https://user@gesdent.example/", "must not carry credentials; use the credentials fields"),
        ("https://user:pw@gesdent.example/", "must not carry credentials; use the credentials fields"),
        ("https://:pw@gesdent.example/", "must not carry credentials; use the credentials fields"),
        ("https://gesdent.example/?db=1", "must not have a query or fragment"),
        ("https://gesdent.example/#top", "must not have a query or fragment"),
        ("https://gesdent.example/api?", "must not have a query or fragment"),
        ("https://gesdent.example/api#", "must not have a query or fragment"),
        ("https://gesdent.example:99999/", "not a URL: Port out of range 0-65535"),
        ("https://gesdent.example:abc/", "not a URL: Port could not be cast to integer value as 'abc'"),
        ("https://[::1/", "not a URL: Invalid IPv6 URL"),
    ],
)
def test_invalid_base_urls(url: str, problem: str) -> None:
    assert base_url_problem(url) == problem


@pytest.mark.parametrize(
    "url",
    [" https://gesdent.example/", "https://gesdent.example/ ", "https://gesdent .example/", "https://g/a b/"],
)
def test_a_base_url_with_spaces_is_refused(url: str) -> None:
    assert base_url_problem(url) == "must not contain spaces or control characters"


hosts = st.from_regex(r"\A[a-z0-9]([a-z0-9.-]{0,15}[a-z0-9])?\Z")
paths = st.one_of(st.just(""), st.text("abc/-._~%?#@:;=&+$,!'()*[] \\\t", max_size=12).map("/".__add__))


@given(
    st.sampled_from(["", " ", "\t", "\n"]),
    st.sampled_from(["http", "https", "HTTPS"]),
    hosts,
    st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}")),
    paths,
)
@example(" ", "https", "g", "", "/")
@example("", "https", "g", "", "/ ")
@example("", "https", "g", "", "/api?")
@example("", "https", "g", "", "/api/#")
def test_requests_to_an_accepted_base_url_stay_under_it(
    before: str, scheme: str, host: str, port: str, path: str
) -> None:
    """What the client does with the stored URL (app/sync/requests.py: httpx's base_url): a path
    of the contract lands under the base URL's path, on its host, with nothing else in the URL."""
    url = before + f"{scheme}://{host}{port}{path}"
    if base_url_problem(url) is not None:
        return
    base = normalise_base_url(url)
    assert base.endswith("/")
    assert normalise_base_url(base) == base
    sent = httpx.Client(base_url=base).build_request("GET", "users").url
    default = {"http": 80, "https": 443}[scheme.lower()]
    assert (sent.scheme, sent.host, sent.port or default) == (
        scheme.lower(),
        host,
        urlsplit(url).port or default,
    )
    assert (sent.query, sent.fragment) == (b"", "")
    assert sent.path == httpx.URL(base).path + "users"


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("https://g.example/api", "https://g.example/api/"),
        ("https://g.example/api/", "https://g.example/api/"),
        ("https://g.example", "https://g.example/"),
    ],
)
def test_the_base_url_ends_with_a_slash(url: str, normalised: str) -> None:
    assert normalise_base_url(url) == normalised


def test_literal_base_urls_name_the_address_written() -> None:
    assert literal_address_problem("http://100.100.100.200/api/") == (
        "points at a carrier-grade NAT address (100.100.100.200)"
    )
    assert literal_address_problem("https://[2002:a9fe:a9fe::]:8443/") == (
        "points at a 6to4 address embedding a link-local address (2002:a9fe:a9fe::)"
    )
    assert literal_address_problem("https://gesdent.example/") is None  # names: when resolved
    assert literal_address_problem("https://93.184.216.34/") is None
