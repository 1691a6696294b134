"""GESDENT connection values: resource IDs, credentials, the base URL."""

from app.domain.gesdent import literal_address_problem


def test_literal_base_urls_name_the_address_written() -> None:
    assert literal_address_problem("http://100.100.100.200/api/") == (
        "points at a carrier-grade NAT address (100.100.100.200)"
    )
    assert literal_address_problem("https://[2002:a9fe:a9fe::]:8443/") == (
        "points at a 6to4 address embedding a link-local address (2002:a9fe:a9fe::)"
    )
    assert literal_address_problem("https://gesdent.example/") is None  # names: when resolved
    assert literal_address_problem("https://93.184.216.34/") is None
