"""PORTICO_CORS_ORIGINS that is not a list of origins stops `portico` at start-up with one line."""

from tests.test_cli_startup import _one_line, _portico


def test_a_bad_cors_origin_stops_the_start(tmp_path):
    result = _portico(tmp_path, "serve", cors_origins="https://app.example,https://app.example/")
    line = _one_line(result, "PORTICO_CORS_ORIGINS")
    assert '"https://app.example/" is not scheme://host[:port]' in line
    assert not list(tmp_path.iterdir())
