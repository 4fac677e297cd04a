"""What the legacy import tells its user: issues with stable codes (legacy-import.md §5.4 step 5).

Each issue names what it is about (a file, a user, a device, a pin) and why. The codes are
stable: scripts read them from the JSON report, and docs/legacy-migration.md lists them.
"""

from dataclasses import dataclass

SKIPPING = frozenset(
    {
        "TOKEN_DUP",
        "TOKEN_TAKEN",
        "EMAIL_TAKEN",
        "PROFILE_UNREADABLE",
        "PIN_OUT_OF_RANGE",
        "VALUE_DROPPED",
        "USER_FAILED",
        "HISTORY_FAILED",
    }
)
"""Codes meaning something of the legacy folder was left out: the run exits 2 (§5.4)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Issue:
    """One warning of the import: a stable ``code``, its ``subject`` and the ``reason``."""

    code: str
    subject: str
    reason: str

    @property
    def skips(self) -> bool:
        """Whether something was left out (the run then ends with exit code 2)."""
        return self.code in SKIPPING

    def as_json(self) -> dict[str, str]:
        """The issue as the JSON report lists it."""
        return {"code": self.code, "subject": self.subject, "reason": self.reason}
