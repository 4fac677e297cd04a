"""Draw the console's app icons (``src/pinbase/http/console/static/icons/*.png``), once.

The icons are committed; this script is how they were made, so that a changed colour or shape is
a reviewed change of code, not an opaque binary from an editor. It needs nothing but the
standard library (``zlib``, ``struct``): shapes are signed distance functions, and each pixel's
coverage is its distance to the edge clamped to one pixel, which anti-aliases edges without
supersampling.

The drawing is the console's brand mark (``.brand-mark`` in ``app.css``: an accent square with a
light inner ring) carrying a white map pin, Pinbase's "pin":

- ``icon-192.png``, ``icon-512.png`` (purpose ``any``): a rounded square on transparency;
- ``icon-maskable-512.png`` (purpose ``maskable``): full-bleed and opaque, the pin inside the
  centre circle of 80 % diameter that every launcher mask keeps (the W3C manifest's safe zone).

Run: ``.venv/bin/python scripts/make_icons.py`` (rewrites the three files).
"""

import math
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

ICONS_DIR = Path(__file__).resolve().parents[1] / "src/pinbase/http/console/static/icons"

ACCENT = (0x1A, 0x5F, 0xC8)
RING = (0x8F, 0xB3, 0xEC)
WHITE = (0xFF, 0xFF, 0xFF)

Rgba = tuple[float, float, float, float]
Distance = Callable[[float, float], float]
"""A shape: the signed distance of a point (in pixels) to its edge, negative inside."""


def rounded_square(centre: float, half: float, radius: float) -> Distance:
    """A square of side ``2 * half`` centred on (centre, centre) with rounded corners."""

    def distance(x: float, y: float) -> float:
        qx = abs(x - centre) - half + radius
        qy = abs(y - centre) - half + radius
        outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
        return outside + min(max(qx, qy), 0.0) - radius

    return distance


def circle(cx: float, cy: float, radius: float) -> Distance:
    """A disc."""
    return lambda x, y: math.hypot(x - cx, y - cy) - radius


def triangle(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> Distance:
    """A triangle (Inigo Quilez's exact polygon distance, for three vertices)."""
    vertices = (a, b, c)

    def distance(x: float, y: float) -> float:
        best = math.inf
        sign = 1.0
        for i, (vx, vy) in enumerate(vertices):
            wx, wy = vertices[i - 1]
            ex, ey = wx - vx, wy - vy
            px, py = x - vx, y - vy
            t = max(0.0, min(1.0, (px * ex + py * ey) / (ex * ex + ey * ey)))
            best = min(best, math.hypot(px - ex * t, py - ey * t))
            crossings = (y >= vy, y < wy, ex * py > ey * px)
            if all(crossings) or not any(crossings):
                sign = -sign
        return sign * best

    return distance


def pin(cx: float, top: float, height: float) -> tuple[Distance, Distance]:
    """A map pin ``height`` tall: its outline (a disc and the cone to its tip) and its hole."""
    radius = height * 0.36
    cy = top + radius
    tip = top + height
    # The cone's sides touch the disc: tangent points seen from the tip.
    reach = tip - cy
    angle = math.asin(radius / reach)
    side = math.sqrt(reach * reach - radius * radius)
    left = (cx - side * math.sin(angle), tip - side * math.cos(angle))
    right = (cx + side * math.sin(angle), left[1])
    head, cone = circle(cx, cy, radius), triangle(left, right, (cx, tip))
    return (lambda x, y: min(head(x, y), cone(x, y))), circle(cx, cy, radius * 0.42)


def coverage(distance: float) -> float:
    """How much of a pixel a shape covers, from the distance at the pixel's centre."""
    return max(0.0, min(1.0, 0.5 - distance))


def over(below: Rgba, colour: tuple[int, int, int], alpha: float) -> Rgba:
    """``colour`` at ``alpha`` painted over ``below`` (straight alpha)."""
    if alpha <= 0.0:
        return below
    r, g, b, a = below
    out = alpha + a * (1.0 - alpha)
    mix = [
        (c * alpha + d * a * (1.0 - alpha)) / out for c, d in zip(colour, (r, g, b), strict=True)
    ]
    return (mix[0], mix[1], mix[2], out)


def draw(size: int, *, maskable: bool) -> bytes:
    """The icon's RGBA rows, each prefixed with PNG filter type 0."""
    centre = size / 2
    if maskable:
        # Full bleed; the ring's rounded corners stay inside the safe-zone circle (radius 40 %
        # of the size): sqrt(2) * (0.29 - 0.08) + 0.08 + half the ring's width < 0.40.
        plate = rounded_square(centre, size, 0.0)
        ring = rounded_square(centre, size * 0.29, size * 0.08)
        pin_height = size * 0.40
    else:
        plate = rounded_square(centre, size * 0.47, size * 0.22)
        ring = rounded_square(centre, size * 0.36, size * 0.15)
        pin_height = size * 0.56
    outline, hole = pin(centre, centre - pin_height / 2, pin_height)
    ring_width = size * 0.035
    rows = bytearray()
    for row in range(size):
        rows.append(0)
        y = row + 0.5
        for column in range(size):
            x = column + 0.5
            pixel: Rgba = (0.0, 0.0, 0.0, 0.0)
            pixel = over(pixel, ACCENT, coverage(plate(x, y)))
            pixel = over(pixel, RING, coverage(abs(ring(x, y)) - ring_width / 2))
            pixel = over(pixel, WHITE, coverage(max(outline(x, y), -hole(x, y))))
            rows.extend(round(channel) for channel in pixel[:3])
            rows.append(round(pixel[3] * 255))
    return bytes(rows)


def png(size: int, rows: bytes) -> bytes:
    """A PNG file: 8-bit RGBA, one IDAT."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


ICONS = {
    "icon-192.png": (192, False),
    "icon-512.png": (512, False),
    "icon-maskable-512.png": (512, True),
}


def main() -> None:
    """Write every icon."""
    ICONS_DIR.mkdir(parents=True, exist_ok=True)
    for name, (size, maskable) in ICONS.items():
        (ICONS_DIR / name).write_bytes(png(size, draw(size, maskable=maskable)))
        print(f"wrote {ICONS_DIR / name}")


if __name__ == "__main__":
    main()
