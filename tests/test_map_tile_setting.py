"""The console Map widget's tile URL setting: empty by default, else a Leaflet URL template."""

import pytest

from pinbase.settings import Settings

OSM = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"


def test_no_tiles_by_default() -> None:
    """A server may be offline: no tile host is contacted unless one is set."""
    assert Settings(data_dir="d").map_tile_url == ""


def test_openstreetmap_template_is_accepted() -> None:
    """OpenStreetMap's template, as docs/console.md shows it, is accepted unchanged."""
    assert Settings(data_dir="d", map_tile_url=OSM).map_tile_url == OSM


@pytest.mark.parametrize(
    "url",
    [
        "tile.openstreetmap.org/{z}/{x}/{y}.png",
        "https://tiles.example/{z}/{x}.png",
        "javascript:{z}{x}{y}",
    ],
)
def test_a_url_that_is_not_a_tile_template_is_refused(url: str) -> None:
    """Not http(s), or without {z}, {x} and {y}: refused when the settings load."""
    with pytest.raises(ValueError, match="tile URL"):
        Settings(data_dir="d", map_tile_url=url)
