"""Mapping suggestions and near-miss names."""

from app.domain.matching import closest_names


def test_closest_names_ignore_the_shared_prefix():
    names = ["tt_sanitas_gesdent_digest", "tt_sanitas_gesdent_md5", "tt_portal", "tt_a"]
    # The procedure's own manual-run example misspells gesdent as gedent.
    assert closest_names("tt_sanitas_gedent_digest", names, prefix="tt_")[0] == "tt_sanitas_gesdent_digest"
    assert closest_names("tt_b", names, prefix="tt_") == []  # tt_a is not close: only the prefix is shared
    assert closest_names("tt_x", [], prefix="tt_") == []
