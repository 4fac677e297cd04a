"""Device segments: named, static sets of an organization's devices (console.md Devices
"Segments", [D] ``DEV/segments.md``): a name of at most 40 characters, at most 50 per
organization. The Control Segment automation action acts on a segment's devices (§3.5)."""

from pinbase.domain.errors import PinbaseError

MAX_NAME_CHARS = 40
"""console.md: "Name ≤ 40 chars"."""
MAX_PER_ORG = 50
"""console.md: "≤ 50 segments, stored per organization"."""
MAX_DEVICES = 10_000
"""Members of one segment: bounds one Control Segment run's writes and its log rows."""


class InvalidSegment(PinbaseError):
    """A segment name or change breaks a rule; ``args[0]`` says which, for the user."""


def segment_name(text: str) -> str:
    """The name as stored: trimmed, 1 to 40 printable characters.

    Raises:
        InvalidSegment: empty, too long or holding control characters.
    """
    name = text.strip()
    if not name:
        raise InvalidSegment("Segment name must not be empty")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidSegment(f"Segment name is longer than {MAX_NAME_CHARS} characters")
    if not name.isprintable():
        raise InvalidSegment("Segment name must not hold control characters")
    return name
