"""Accept-Encoding read as RFC 9110 §12.5.3 has it: q-values count, `*` stands for the codings not named."""

import pytest

from app.negotiation import accepts_coding


@pytest.mark.parametrize(
    ("accept_encoding", "accepted"),
    [
        ("gzip", True),
        ("gzip, deflate, br, zstd", True),
        ("br;q=1.0, GZIP;q=0.5", True),
        ("*", True),
        ("identity, *;q=0.1", True),
        ("gzip;q=0", False),
        ("gzip;q=0.000, *", False),  # named: `*` does not speak for it
        ("*;q=0", False),
        ("identity", False),
        ("", False),
        (None, False),
        ("gzip;q=x", False),
    ],
)
def test_gzip_is_accepted(accept_encoding, accepted):
    assert accepts_coding(accept_encoding, "gzip") is accepted
