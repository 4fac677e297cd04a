"""The byte ranges an OTA download honours (``http.device_api.firmware_download``): one
``bytes=`` range in each of its forms; several ranges and malformed ones get the whole file;
a range past the end is not satisfiable (RFC 9110 §14)."""

import pytest

from pinbase.http.device_api.firmware_download import RangeNotSatisfiable, requested_range

SIZE = 1000


@pytest.mark.parametrize(
    ("header", "part"),
    [
        ("bytes=0-99", (0, 100)),
        ("bytes=100-", (100, 1000)),
        ("bytes=900-5000", (900, 1000)),
        ("bytes=-10", (990, 1000)),
        ("bytes=-5000", (0, 1000)),
        ("bytes=999-999", (999, 1000)),
        (" bytes=5-9 ", (5, 10)),
        (None, None),
        ("", None),
        ("bytes=0-1,5-9", None),
        ("bytes=9-5", None),
        ("bytes=-", None),
        ("items=0-9", None),
        ("bytes=0x1-9", None),
        ("bytes=" + "9" * 16 + "-", None),
    ],
)
def test_one_range_is_honoured_and_anything_else_sends_the_whole_file(
    header: str | None, part: tuple[int, int] | None
) -> None:
    assert requested_range(header, SIZE) == part


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0"])
def test_a_range_past_the_end_is_not_satisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        requested_range(header, SIZE)
