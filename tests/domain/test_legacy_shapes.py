"""Edge cases of the legacy readers: file keys and JSON (legacy-import.md §1.3, §1.4), storage
keys (§2.5), widget shapes with unassigned pins (§2.3), targets, type widening and names."""

from typing import Any

import pytest

from pinbase.domain.legacy_datastreams import derive_datastreams, widen
from pinbase.domain.legacy_plan import PlanOptions, plan_import
from pinbase.domain.legacy_profiles import (
    LegacyFormatError,
    as_int,
    backup_candidates,
    decode_profile,
    key_from_file_name,
)
from pinbase.domain.legacy_report import Issue
from pinbase.domain.legacy_values import parse_storage_key, read_storage, storage_value
from pinbase.domain.legacy_widgets import (
    PinUse,
    resolve_targets,
    scan_dashboard,
    widget_uses,
)

NOW = 1_700_000_000_000


def uses_of(widget: dict[str, Any]) -> list[PinUse]:
    """The pin uses of one widget."""
    return list(widget_uses(widget))


def test_file_names_give_keys_when_the_json_lacks_them() -> None:
    """§1.3 fallback: ``u_`` is the stock app; the last dot splits e-mail and app; a name
    without a usable dot is an e-mail of the stock app."""
    assert key_from_file_name("u_Jo@x.io.user") == ("jo@x.io", "Blynk")
    assert key_from_file_name("jo@x.io.blynkAbCd1234.user") == ("jo@x.io", "blynkAbCd1234")
    assert key_from_file_name("nodot.user") == ("nodot", "Blynk")
    profile = decode_profile('{"name": "someone"}', path="dir/jo@x.io.myapp.user")
    assert profile.key == ("jo@x.io", "myapp")


@pytest.mark.parametrize(
    ("text", "message"),
    [("{", "not JSON"), ("[]", "not a JSON object"), ('{"name": "x"}', "no e-mail")],
)
def test_unreadable_profiles_raise_one_error_type(text: str, message: str) -> None:
    """Broken JSON, a non-object and a file with no e-mail anywhere raise LegacyFormatError."""
    with pytest.raises(LegacyFormatError, match=message):
        decode_profile(text, path="noemail.user")


def test_json_numbers_default_when_they_are_not_whole() -> None:
    """§1.4: a fractional or non-number field takes its default."""
    assert as_int(1.5, 7) == 7
    assert as_int(True, 7) == 7
    assert as_int(2.0) == 2


def test_backups_are_tried_newest_first() -> None:
    """§1.3: backups of the main file, by mtime, newest first; others ignored."""
    found = backup_candidates(
        "a@x.io.Blynk.user",
        [("a@x.io.Blynk.user.2021-01-01", 1.0), ("a@x.io.Blynk.user.2021-01-02", 2.0), ("b", 3.0)],
    )
    assert found == ["a@x.io.Blynk.user.2021-01-02", "a@x.io.Blynk.user.2021-01-01"]


def test_storage_keys_of_every_era() -> None:
    """§2.5 key grammars; a key with the wrong number of ids (or a negative id) is refused."""
    assert parse_storage_key("125-0-v5-label", levels=2) == (125, 0, "v", 5, "label")
    assert parse_storage_key("3-V7", levels=1) == (None, 3, "v", 7, None)
    assert parse_storage_key("d13", levels=0) == (None, 0, "d", 13, None)
    with pytest.raises(ValueError, match="unreadable"):
        parse_storage_key("0-v5", levels=2)
    with pytest.raises(ValueError, match="unreadable"):
        parse_storage_key("-1-0-v5", levels=2)


def test_storage_values_skip_empty_entries() -> None:
    """An empty string or an object without string values is no value."""
    assert storage_value({"type": "LCD"}) is None
    assert storage_value(5) is None
    pins, bad = read_storage({"0-v1": "", "0-v2": {"values": ["a", "b"]}, "x": "1"}, levels=1)
    assert [(p.number, p.value, p.dropped) for p in pins] == [(2, "b", 1)]
    assert bad == ["x"]


def test_unassigned_pins_of_every_shape_are_ignored() -> None:
    """§2.3: a DataStream with pin -1 or no pinType yields no use, in every shape."""
    none = {"pin": -1, "pinType": "VIRTUAL"}
    assert uses_of({"type": "RGB", "splitMode": True, "pins": [none, {"pin": 2}]}) == []
    assert uses_of({"type": "LCD", "pins": [none]}) == []
    assert uses_of({"type": "ENHANCED_GRAPH", "dataStreams": [{"pin": none}]}) == []
    assert uses_of({"type": "REPORT", "reportSources": [{"dataStreams": [none]}]}) == []
    rules = [
        {"triggerPin": none, "actions": [{"type": "SETPIN", "pin": none}]},
        {"triggerPin": {"pin": 1, "pinType": "VIRTUAL"}, "condition": {"type": "CHANGED"}},
        {"actions": [{"type": "NOTIFY", "pin": {"pin": 3, "pinType": "VIRTUAL"}}]},
    ]
    assert uses_of({"type": "EVENTOR", "rules": rules}) == []
    assert uses_of({"type": "BUTTON", "pinType": "VIRTUAL", "pin": -1}) == []


def test_generic_shapes_of_unknown_types() -> None:
    """An unknown type with ``pins`` or ``dataStreams`` is read by that shape."""
    (multi,) = uses_of({"type": "KNOB2", "pins": [{"pin": 4, "pinType": "VIRTUAL"}]})
    (chart,) = uses_of(
        {"type": "OLDCHART", "dataStreams": [{"pin": {"pin": 5, "pinType": "ANALOG"}}]}
    )
    assert (multi.pin_name, multi.hint, chart.pin_name) == ("v4", None, "a5")


def test_widget_hints_for_menus_without_labels_and_plain_displays() -> None:
    """A MENU without labels is INT; a display's format without a placeholder adds nothing."""
    (menu,) = uses_of({"type": "MENU", "pinType": "VIRTUAL", "pin": 1})
    (display,) = uses_of(
        {"type": "DIGIT4_DISPLAY", "pinType": "VIRTUAL", "pin": 2, "valueFormatting": "x"}
    )
    assert (menu.hint, display.fraction_digits, display.units) == ("INT", None, None)


def test_targets_resolve_through_tags_and_selectors() -> None:
    """§2.3: ids ≥ 100000 are tags, ≥ 200000 DEVICE_SELECTOR widgets; duplicates collapse."""
    found = resolve_targets((3, 100001, 200005, 3), tags={100001: (4,)}, selectors={200005: (5, 4)})
    assert found == (3, 4, 5)


def test_tiles_without_a_stream_or_value_add_nothing() -> None:
    """A tile template with no own stream keeps its nested widgets; a tile without a value is
    no value; a notification with offline alerts sets the ignore period."""
    scan = scan_dashboard(
        {
            "widgets": [
                {
                    "type": "DEVICE_TILES",
                    "templates": [
                        {"id": 1, "widgets": [{"type": "LED", "pin": 1, "pinType": "VIRTUAL"}]}
                    ],
                    "tiles": [{"deviceId": 1, "pin": {"pin": 1, "pinType": "VIRTUAL"}}],
                },
                {
                    "type": "NOTIFICATION",
                    "notifyWhenOffline": True,
                    "notifyWhenOfflineIgnorePeriod": 5000,
                },
                {"type": "RTC"},
            ]
        },
        subject="s",
    )
    (tile,) = scan.tile_templates
    assert [u.pin_name for u in tile.uses] == ["v1"]
    assert (tile.name, dict(scan.tile_values), scan.offline_ignore_ms) == ("Tile", {}, 5000)


def test_widening_and_label_clashes() -> None:
    """ENUM with INT widens to DOUBLE (§2.6); clashing labels get `` (V5)`` then a number."""
    assert widen("ENUM", "INT") == "DOUBLE"
    assert widen("STRING", "ENUM") == "STRING"
    uses = [
        PinUse(kind="v", number=n, widget="BUTTON", hint="INT", label=label)
        for n, label in ((1, "Same (V3)"), (2, "Same"), (3, "Same"))
    ]
    derived = derive_datastreams([], uses, values={})
    labels = [d.datastream.label for d in derived]
    assert labels == ["Same (V3)", "Same", "Same (V3) 2"]


def _profile(data: dict[str, Any], path: str = "p@x.io.Blynk.user") -> Any:
    return decode_profile(__import__("json").dumps(data), path=path)


def test_plan_edge_cases_are_reported() -> None:
    """A pin above 255, a value too long for its type, a muted dashboard, two projects
    of one name, an unused tile template and an App Export profile merged into another."""
    dash = {
        "id": 1,
        "name": "Same",
        "isNotificationsOff": True,
        "widgets": [
            {
                "type": "NOTIFICATION",
                "notifyWhenOffline": True,
                "notifyWhenOfflineIgnorePeriod": 9000,
            },
            {"type": "BUTTON", "pinType": "VIRTUAL", "pin": 300, "deviceId": 0},
            {"type": "TEXT_INPUT", "pinType": "VIRTUAL", "pin": 1, "value": "x" * 2000},
            {"type": "DEVICE_TILES", "templates": [{"id": 9, "name": "Unused"}]},
        ],
        "devices": [{"id": 0, "token": "t" * 32}],
    }
    publisher = _profile(
        {"email": "pub@x.io", "profile": {"apps": [{"id": "blynkApp1"}], "dashBoards": []}},
        path="pub@x.io.Blynk.user",
    )
    second = {**dash, "id": 2, "devices": [{"id": 0, "token": "w" * 32}]}
    main = _profile({"email": "p@x.io", "profile": {"dashBoards": [dash, second]}})
    other = _profile({"email": "p@x.io", "appName": "blynkApp1"}, path="p@x.io.blynkApp1.user")
    plan = plan_import([publisher, main, other], options=PlanOptions(), now=NOW)
    codes = {issue.code for issue in plan.issues}
    assert {"PIN_OUT_OF_RANGE", "VALUE_DROPPED", "APP_EXPORT_MERGED"} <= codes
    user = next(u for u in plan.users if u.email == "p@x.io")
    assert [t.name for t in user.templates] == ["Same", "Same 2"]
    assert user.templates[0].offline_ignore_period == 0
    assert user.templates[0].events == ()
    assert user.templates[0].key == "p@x.io|Blynk|1"


def test_tags_over_plan_limits_are_reported() -> None:
    """§5.1: more than 20 tags in an organization or 5 on a device are imported and reported;
    a tag without a name is named by its id; unknown devices are left out."""
    tags = [{"id": 100000 + n, "name": f"T{n}", "deviceIds": [0, 9]} for n in range(21)]
    tags.append({"id": 100100, "deviceIds": [0]})
    dash = {"id": 1, "tags": tags, "devices": [{"id": 0, "token": "v" * 32}]}
    plan = plan_import(
        [_profile({"email": "p@x.io", "profile": {"dashBoards": [dash]}})],
        options=PlanOptions(),
        now=NOW,
    )
    limits = [i.subject for i in plan.issues if i.code == "TAG_LIMIT"]
    assert limits == ["p@x.io", "p@x.io|Blynk|1|0"]
    named = dict(plan.users[0].tags)
    assert named["Tag 100100"] == ("p@x.io|Blynk|1|0",)
    assert named["T0"] == ("p@x.io|Blynk|1|0",)


def test_tile_templates_key_their_trace_entry() -> None:
    """A tile template's trace key adds ``tile<id>`` to its dashboard's."""
    dash = {
        "id": 4,
        "widgets": [{"type": "DEVICE_TILES", "templates": [{"id": 2, "deviceIds": [0]}]}],
        "devices": [{"id": 0, "token": "u" * 32}],
    }
    plan = plan_import(
        [_profile({"email": "p@x.io", "profile": {"dashBoards": [dash]}})],
        options=PlanOptions(),
        now=NOW,
    )
    assert [t.key for t in plan.users[0].templates] == ["p@x.io|Blynk|4", "p@x.io|Blynk|4|tile2"]


def test_issues_say_whether_they_skip_something() -> None:
    """Skipping codes make the run exit 2; the JSON form has code, subject and reason."""
    issue = Issue(code="TOKEN_DUP", subject="s", reason="r")
    assert issue.skips
    assert not Issue(code="TYPE_GUESS", subject="s", reason="r").skips
    assert issue.as_json() == {"code": "TOKEN_DUP", "subject": "s", "reason": "r"}


def test_tokens_pinbase_cannot_store_are_replaced() -> None:
    """A token outside 8..64 characters or holding NUL gets a new token (TOKEN_INVALID); a
    property name longer than the column is left out; absurd timestamps are ignored."""
    dash = {
        "id": 1,
        "updatedAt": 10**30,
        "devices": [
            {"id": 0, "token": "x" * 65, "dataReceivedAt": -5},
            {"id": 1, "token": "abc\u0000defgh"},
            {"id": 2, "token": "short"},
        ],
    }
    storage = {"1-0-v1": "5", "1-0-v1-" + "p" * 65: "x"}
    plan = plan_import(
        [
            _profile(
                {
                    "email": "p@x.io",
                    "lastModifiedTs": 7,
                    "profile": {"dashBoards": [dash], "pinsStorage": storage},
                }
            )
        ],
        options=PlanOptions(),
        now=NOW,
    )
    assert [i.code for i in plan.issues].count("TOKEN_INVALID") == 3
    device = plan.users[0].templates[0].devices[0]
    assert not device.token_kept
    assert len(device.token) == 32
    assert [(v.property, v.ts) for v in device.values] == [(None, 7)]


def test_nul_in_display_texts_is_dropped() -> None:
    """NUL cannot be stored in names, units, enum labels or a time zone: it is dropped."""
    dash = {
        "id": 1,
        "widgets": [
            {"type": "RTC", "tzName": "Europe/\u0000Paris"},
            {"type": "MENU", "pinType": "VIRTUAL", "pin": 1, "labels": ["a\u0000b"]},
            {"type": "NUMBER_INPUT", "pinType": "VIRTUAL", "pin": 2, "suffix": "\u0000"},
        ],
    }
    plan = plan_import(
        [_profile({"email": "p@x.io", "profile": {"dashBoards": [dash]}})],
        options=PlanOptions(),
        now=NOW,
    )
    (user,) = plan.users
    assert user.tz == "Europe/Paris"
    menu, number = (d.datastream for d in user.templates[0].datastreams)
    assert [o.label for o in menu.enum_options] == ["ab"]
    assert number.units is None


def test_timers_without_something_to_schedule_are_reported() -> None:
    """A Timer without a pin, without an existing device, or without a valid time and value
    is TIMER_NOT_MIGRATED; seconds are dropped from the time (reported)."""
    timers = [
        {"type": "TIMER", "startTime": 60, "startValue": "1"},
        {"type": "TIMER", "pinType": "VIRTUAL", "pin": 1, "deviceId": 5, "startTime": 60,
         "startValue": "1"},
        {"type": "TIMER", "pinType": "VIRTUAL", "pin": 2, "startTime": 90000, "startValue": "1",
         "stopTime": 30, "stopValue": "a\u0000b"},
        {"type": "TIMER", "pinType": "VIRTUAL", "pin": 3, "startTime": 3661, "startValue": "1"},
    ]  # fmt: skip
    dash = {"id": 1, "widgets": timers, "devices": [{"id": 0, "token": "y" * 32}]}
    plan = plan_import(
        [_profile({"email": "p@x.io", "profile": {"dashBoards": [dash]}})],
        options=PlanOptions(),
        now=NOW,
    )
    codes = [i.code for i in plan.issues if i.code.startswith("TIMER")]
    assert codes == ["TIMER_NOT_MIGRATED"] * 3 + ["TIMER_AS_AUTOMATION"]
    (switch,) = plan.users[0].timers
    assert (switch.hour, switch.minute, switch.rounded) == (1, 1, True)
    assert any("seconds dropped" in i.reason for i in plan.issues)
