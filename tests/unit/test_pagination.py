"""The Link header of a list: relative, or on PORTICO_PUBLIC_URL, never on the request's Host."""

from starlette.datastructures import URL

from app.pagination import next_link


def test_the_next_link_never_comes_from_the_host():
    url = URL("http://evil.example/v1/instances?limit=1&kind=portal")
    assert next_link(url, "abc", 1, None) == "/v1/instances?kind=portal&cursor=abc&limit=1"
    public = next_link(url, "abc", 1, "https://portico.example/api")
    assert public.startswith("https://portico.example/api/v1/instances?")
