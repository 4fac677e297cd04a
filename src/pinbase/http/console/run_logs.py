"""The log tables of the Automations and Webhooks pages: the ranges they offer (spec §3.7,
§4.9) and the automation run log as table rows (spec §3.7's columns)."""

from typing import Any

from pinbase.http.console.pages import moment
from pinbase.services.reactions.automations import RunLog

RANGES = (
    ("1h", "Last Hour", 3_600_000),
    ("6h", "6 Hours", 6 * 3_600_000),
    ("1d", "1 Day", 86_400_000),
    ("1w", "1 Week", 7 * 86_400_000),
    ("1m", "1 Month", 30 * 86_400_000),
    ("3m", "3 Months", 90 * 86_400_000),
)
"""The log's ranges (spec §3.7); the log keeps 90 days."""
DEFAULT_RANGE = "1d"
_SPANS = {key: ms for key, _, ms in RANGES}


def picked_range(asked: str | None) -> tuple[str, int]:
    """The range a page's ``?range=`` picks and its span in ms: one of ``RANGES``, else 1 day."""
    key = asked if asked in _SPANS else DEFAULT_RANGE
    return key, _SPANS[key]


LOG_TYPES = {
    "CONTROL_DEVICE": "Device Action",
    "FORWARD_DEVICE_DATA": "Device Action",
    "CONTROL_SEGMENT": "Device Action",
    "SEND_EMAIL": "E-mail",
    "SEND_NOTIFICATION": "Push",
    "SEND_SMS": "SMS",
    "WAIT": "Wait",
    "LOG_EVENT": "Log Event",
}
"""The log's Type column (spec §3.7: ``Push``, ``Device Action``, ``E-mail``)."""


def _shown_value(kind: str, value: str | None) -> str:
    """A WAIT row's value is the time it waits until (epoch ms): shown as a time."""
    if kind == "WAIT" and value is not None and value.isdecimal() and len(value) < 16:
        return "until " + moment(int(value))
    return value or ""


def log_rows(
    log: list[RunLog], targets: dict[str, str], devices: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    """The run log as table rows (spec §3.7): one per action, or one for a run without any
    (a skipped firing), newest run first."""
    device_names = dict(devices)
    rows = []
    for entry in log:
        run = entry.run
        trigger = (
            targets.get(f"{run.trigger_device_id}:{run.trigger_datastream_id}", "")
            if run.trigger_device_id is not None
            else ""
        )
        base = {
            "run": run.id,
            "ts": run.started_at,
            "trigger": run.trigger_kind,
            "trigger_target": trigger,
            "trigger_value": run.trigger_value or "",
        }
        if not entry.actions:
            rows.append(
                {
                    **base,
                    "device": device_names.get(str(run.trigger_device_id), ""),
                    "datastream": trigger.partition(" · ")[2],
                    "value": run.trigger_value or "",
                    "type": "Run",
                    "status": run.status,
                    "reason": run.reason or "",
                }
            )
        for action in entry.actions:
            target = targets.get(f"{action.device_id}:{action.datastream_id}", "")
            rows.append(
                {
                    **base,
                    "ts": action.ts,
                    "device": device_names.get(str(action.device_id), "")
                    if action.device_id is not None
                    else "",
                    "datastream": target.partition(" · ")[2],
                    "value": _shown_value(action.type, action.value),
                    "type": LOG_TYPES.get(action.type, action.type),
                    "status": action.status,
                    "reason": action.reason or "",
                }
            )
    return rows
