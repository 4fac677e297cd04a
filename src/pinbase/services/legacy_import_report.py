"""The report of ``pinbase import-legacy`` (legacy-import.md §5.4 step 5): counts per entity,
every issue with its code, and per user what was mapped, with each datastream's reason."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pinbase.domain.legacy_plan import ImportPlan, UserPlan
from pinbase.domain.legacy_report import Issue
from pinbase.services.legacy_folder import FolderScan

EXIT_DONE, EXIT_FATAL, EXIT_SKIPPED = 0, 1, 2
"""§5.4 step 5: done; fatal; done with skipped items."""


@dataclass(slots=True, kw_only=True)
class ImportReport:
    """What the import did: the JSON report of §5.4 step 5, built as it goes."""

    folder: str
    dry_run: bool
    issues: list[Issue] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    history_points: int = 0

    def count(self, what: str, n: int = 1) -> None:
        """Add ``n`` to the counter ``what``."""
        self.counts[what] = self.counts.get(what, 0) + n

    @property
    def exit_code(self) -> int:
        """0 when everything was mapped, 2 when something was skipped (§5.4)."""
        return EXIT_SKIPPED if any(issue.skips for issue in self.issues) else EXIT_DONE

    def as_json(self) -> dict[str, Any]:
        """The machine-readable report; tokens and password hashes never appear in it."""
        codes: dict[str, int] = {}
        for issue in self.issues:
            codes[issue.code] = codes.get(issue.code, 0) + 1
        return {
            "folder": self.folder,
            "dryRun": self.dry_run,
            "exitCode": self.exit_code,
            "counts": dict(sorted(self.counts.items())),
            "historyPoints": self.history_points,
            "issueCounts": dict(sorted(codes.items())),
            "users": self.users,
            "issues": [issue.as_json() for issue in self.issues],
        }


def describe_plan(folder: Path, scan: FolderScan, plan: ImportPlan) -> ImportReport:
    """The report of ``--dry-run``: what would be created, without opening the database (so
    tokens and e-mails Pinbase already has are found only by a real run)."""
    report = ImportReport(folder=str(folder), dry_run=True)
    report.issues.extend(scan.issues)
    report.issues.extend(plan.issues)
    report.count("profiles", len(scan.profiles))
    for user in plan.users:
        report.users.append(describe_user(user, None, status="planned"))
        count_plan(report, user)
    return report


def count_plan(report: ImportReport, user: UserPlan) -> None:
    """Add what ``user``'s plan creates to the report's counts."""
    report.count("organizations")
    report.count("users")
    report.count("templates", len(user.templates))
    report.count("tags", len(user.tags))
    for template in user.templates:
        report.count("datastreams", len(template.datastreams))
        report.count("devices", len(template.devices))
        report.count("tokensKept", sum(d.token_kept for d in template.devices))
        report.count("values", sum(len(d.values) for d in template.devices))


def describe_user(user: UserPlan, ids: dict[str, int] | None, *, status: str) -> dict[str, Any]:
    """A user's entry in the JSON report: what was mapped, with each datastream's reason."""
    return {
        "email": user.email,
        "status": status,
        **(ids or {}),
        "organization": {"name": user.org_name, "type": user.org_type, "tz": user.tz},
        "appNames": list(user.app_names),
        "nestedUnder": user.parent_email,
        "hasPassword": user.client_hash is not None,
        "tags": [name for name, _ in user.tags],
        "templates": [
            {
                "name": t.name,
                "legacyProject": t.dash_id,
                "tileTemplate": t.tile_id,
                "boardType": t.board_type,
                "connectionType": t.connection_type,
                "legacyTemplateIds": list(t.legacy_template_ids),
                "datastreams": [
                    {
                        "pin": d.datastream.pin.name.upper(),
                        "label": d.datastream.label,
                        "type": d.datastream.type.value,
                        "reason": d.reason,
                    }
                    for d in t.datastreams
                ],
                "devices": [
                    {
                        "legacyId": d.legacy[3],
                        "name": d.name,
                        "tokenKept": d.token_kept,
                        "values": sum(v.value is not None for v in d.values),
                        "properties": sum(v.property is not None for v in d.values),
                    }
                    for d in t.devices
                ],
            }
            for t in user.templates
        ],
    }
