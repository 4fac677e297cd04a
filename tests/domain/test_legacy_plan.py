"""The legacy import's plan over the hand-built fixtures of legacy-import.md §6: datastreams of
every widget shape (§2.4, §2.6), values (§2.5), identities (§5.1) and tokens (§1.5)."""

from pathlib import Path

import pytest

from pinbase.domain.datastreams import DataType
from pinbase.domain.legacy_names import device_name, organization_name, user_name
from pinbase.domain.legacy_plan import ImportPlan, PlanOptions, UserPlan, plan_import
from pinbase.domain.legacy_profiles import choose_profiles, decode_profile, is_profile_name
from pinbase.domain.legacy_templates import TemplatePlan
from pinbase.domain.legacy_tokens import FAIL, TokenConflict
from pinbase.domain.pins import Pin, PinType

FIXTURES = Path(__file__).parents[1] / "fixtures" / "legacy"
NOW = 1_700_000_000_000


def plan_of(case: str, **options: object) -> ImportPlan:
    """The plan of one fixture folder's profiles (depth 1, as the scanner reads them)."""
    folder = FIXTURES / case
    files = [
        decode_profile(p.read_text(encoding="utf-8"), path=p.name)
        for p in sorted(folder.iterdir())
        if p.is_file() and is_profile_name(p.name)
    ]
    chosen, _ = choose_profiles(files)
    history = options.pop("history", ())
    return plan_import(
        chosen,
        options=PlanOptions(**options),  # type: ignore[arg-type]
        now=NOW,
        history=history,  # type: ignore[arg-type]
    )


def user(plan: ImportPlan, email: str) -> UserPlan:
    """The planned user with ``email``."""
    return next(u for u in plan.users if u.email == email)


def template(plan: ImportPlan, name: str) -> TemplatePlan:
    """The planned template named ``name``."""
    return next(t for u in plan.users for t in u.templates if t.name == name)


def types(plan: TemplatePlan) -> dict[str, str]:
    """Pin name → datastream type literal."""
    return {d.datastream.pin.name: d.datastream.type.value for d in plan.datastreams}


def codes(plan: ImportPlan) -> list[str]:
    """The issue codes of a plan, in order."""
    return [issue.code for issue in plan.issues]


def values(plan: TemplatePlan, legacy_device: int) -> dict[str, object]:
    """Pin name → planned current value of one device."""
    device = next(d for d in plan.devices if d.legacy[3] == legacy_device)
    by_id = {d.datastream.id: d.datastream.pin.name for d in plan.datastreams}
    return {by_id[v.datastream_id]: v.value for v in device.values if v.property is None}


def test_modern_profile_maps_to_one_organization_with_tokens_kept() -> None:
    """§6 "modern": one organization and Admin with the legacy hash, two templates, three
    devices keeping their hex and Base64 tokens byte for byte, values and one property."""
    plan = plan_of("modern")
    (alice,) = plan.users
    assert alice.client_hash == "fD9jqz1303HXurfKkTf29V9zN5mC0lFgpyS4ovvGck4="
    assert (alice.org_name, alice.org_type, alice.tz) == ("Alice", "PERSONAL", "Europe/Paris")
    assert alice.last_logged_at == 1609459100000
    assert [t.name for t in alice.templates] == ["Home", "Garage"]
    tokens = [d.token for t in alice.templates for d in t.devices]
    assert tokens == [
        "2a5f1c0e8d7b4a6f9e3c1b0a7d6e5f4c",
        "Ab-_cdEFghIJklMNopQRstUVwxYZ0123",
        "Zz9-_aB8cD7eF6gH5iJ4kL3mN2oP1qRs",
    ]
    home = template(plan, "Home")
    assert home.offline_ignore_period == 60
    assert [event.code for event in home.events] == ["sys_offline"]
    assert template(plan, "Garage").events == ()
    (zone,) = home.metafields
    assert (zone.name, zone.default_value) == ("Device Timezone", "Europe/Paris")
    assert "RTC_IN_UTC" in codes(plan)
    assert home.legacy_template_ids == ("TMPL0001",)
    assert values(home, 0) == {"v1": 1, "v2": 42, "v5": 23.5, "v7": "hello"}
    assert values(home, 1) == {"v8": "ready"}
    living = home.devices[0]
    (prop,) = [v for v in living.values if v.property is not None]
    assert (prop.property, prop.property_json) == ("label", '"Room temperature"')
    assert living.hardware.board_type == "NodeMCU"
    v5 = next(d.datastream for d in home.datastreams if d.datastream.pin.name == "v5")
    assert (v5.decimals, v5.units, v5.label) == ("#.#", "°C", "Temperature")
    assert "MULTI_VALUE_TRUNCATED" in codes(plan)


def test_widget_matrix_types_follow_the_catalogue() -> None:
    """§6 "widget matrix": merged RGB and joystick are STRING, split ones INT, MENU an ENUM
    from 1, a Slider with one fraction digit and a 0.5 Step DOUBLE, LCD simple by evidence and
    advanced STRING, MAP and TABLE STRING, chart and report pins (both report keys) DOUBLE."""
    matrix = template(plan_of("matrix"), "Matrix")
    found = types(matrix)
    assert found["v10"] == "STRING"
    assert "v11" not in found
    assert [found[p] for p in ("v13", "v14", "v15", "v18", "v19")] == ["INT"] * 5
    assert found["v16"] == "STRING"
    assert found["v20"] == "ENUM"
    menu = next(d.datastream for d in matrix.datastreams if d.datastream.pin.name == "v20")
    assert [(o.value, o.label) for o in menu.enum_options] == [(1, "Off"), (2, "Eco"), (3, "Boost")]
    assert (found["v21"], found["v22"]) == ("DOUBLE", "DOUBLE")
    assert (found["v23"], found["v24"], found["v25"]) == ("DOUBLE", "STRING", "STRING")
    assert "v26" not in found
    assert (found["v27"], found["v28"]) == ("STRING", "STRING")
    assert [found[p] for p in ("v29", "v30", "v31", "v32", "v33")] == ["DOUBLE"] * 5
    labels = {d.datastream.pin.name: d.datastream.label for d in matrix.datastreams}
    assert (labels["v13"], labels["v19"], labels["v33"]) == ("Split R", "Stick Y", "Water")


def test_conflicting_widgets_widen_and_take_range_from_controls_only() -> None:
    """§6 "conflicts": Slider + display showing "ON" is STRING; Gauge + Slider is DOUBLE with
    the Slider's 10..90 only (the legacy server never clamped to a gauge's range)."""
    matrix = template(plan_of("matrix"), "Matrix")
    by_pin = {d.datastream.pin.name: d.datastream for d in matrix.datastreams}
    assert by_pin["v40"].type is DataType.STRING
    assert (by_pin["v41"].type, by_pin["v41"].min, by_pin["v41"].max) == (DataType.DOUBLE, 10, 90)


def test_digital_and_analog_pins_keep_their_kind_and_number() -> None:
    """§6 "digital/analog": D13 stays DIGITAL, a pwm Slider on D5 becomes ANALOG 5, A0 stays
    ANALOG; pin -1 and a missing pinType are ignored; V200 is accepted."""
    matrix = template(plan_of("matrix"), "Matrix")
    pins = {d.datastream.pin for d in matrix.datastreams}
    assert Pin(PinType.DIGITAL, 13) in pins
    assert Pin(PinType.ANALOG, 5) in pins
    assert Pin(PinType.DIGITAL, 5) not in pins
    assert Pin(PinType.ANALOG, 0) in pins
    assert Pin(PinType.DIGITAL, 7) not in pins
    assert Pin(PinType.VIRTUAL, 7) not in pins
    assert Pin(PinType.VIRTUAL, 200) in pins
    reasons = {d.datastream.pin.name: d.reason for d in matrix.datastreams}
    assert reasons["a0"] == "INT (rule 2): a digital or analog pin"


def test_removed_and_unknown_types_are_read_by_shape() -> None:
    """§6 "unknown types": GRAPH and LOGGER pins are DOUBLE, ONE_AXIS_JOYSTICK INT, a made-up
    FOO_WIDGET's pin is kept (STRING, nothing known) and reported."""
    plan = plan_of("matrix")
    found = types(template(plan, "Matrix"))
    assert [found[p] for p in ("v50", "v51", "v52", "v53", "v54")] == [
        "DOUBLE",
        "DOUBLE",
        "DOUBLE",
        "INT",
        "STRING",
    ]
    assert "UNKNOWN_WIDGET" in codes(plan)


def test_tile_templates_become_extra_templates_with_their_devices_and_values() -> None:
    """§6 "tiles": a PAGE tile template (stream under ``pin``) and a BUTTON one (under
    ``dataStream``) become extra templates holding their devices, with the tiles' values."""
    plan = plan_of("matrix")
    page = template(plan, "Matrix / Sensor tile")
    button = template(plan, "Matrix / Switch tile")
    assert [d.legacy[3] for d in page.devices] == [5]
    assert types(page) == {"v70": "DOUBLE", "v71": "DOUBLE"}
    assert values(page, 5) == {"v70": 18.5}
    assert values(button, 6) == {"v72": 1}
    assert [d.legacy[3] for d in template(plan, "Matrix").devices] == [0, 1]


def test_widget_value_beats_stale_storage_and_old_timer_prefix_is_stripped() -> None:
    """§6 "stale storage" and "old Timer value": the widget's "7" wins over pinsStorage "3";
    ``dw\\x004\\x001`` becomes 1."""
    matrix = template(plan_of("matrix"), "Matrix")
    found = values(matrix, 0)
    assert found["v60"] == 7.0
    assert found["d4"] == 1
    assert found["v10"] == "255\x00128\x000"


def test_server_side_features_and_phone_widgets_are_reported() -> None:
    """§5.3: Timer, Eventor, Webhook, Report, a reading widget (PULL), a phone sensor, a BLE
    device and tags are reported with their codes."""
    found = codes(plan_of("matrix"))
    for code in (
        "TIMER_AS_AUTOMATION",
        "EVENTOR_NOT_MIGRATED",
        "WEBHOOK_NOT_MIGRATED",
        "REPORT_NOT_MIGRATED",
        "PULL_PIN",
        "PHONE_WIDGET",
        "DEVICE_UNREACHABLE",
        "TYPE_GUESS",
    ):
        assert code in found


def test_timer_becomes_two_daily_automations() -> None:
    """§5.3 TIMER: the start and stop values are written every day at the UTC times."""
    (bob,) = plan_of("matrix").users
    on, off = bob.timers
    assert (on.kind, on.number, on.hour, on.minute, on.value) == ("d", 4, 1, 0, "1")
    assert (off.hour, off.minute, off.value) == (2, 0, "0")
    assert on.device_keys == ("bob@example.com|Blynk|7|0",)
    automation = on.automation_json([(3, 9)])
    assert automation["condition"] == {
        "kind": "SCHEDULE",
        "time": "01:00",
        "tz": "UTC",
        "repeat": {"type": "DAILY"},
    }
    assert automation["actions"] == [
        {"kind": "CONTROL_DEVICE", "deviceId": 3, "dataStreamId": 9, "value": "1"}
    ]


def test_tags_become_organization_tags_on_their_devices() -> None:
    """§5.1: a dashboard tag is an organization tag put on its existing devices."""
    (bob,) = plan_of("matrix").users
    assert bob.tags == (("Kitchen", ("bob@example.com|Blynk|7|1",)),)


def test_eventor_pins_follow_conditions_and_setpin_values() -> None:
    """§2.4 EVENTOR: a numeric condition's pin is DOUBLE, a SETPIN "on" target STRING, a
    STR_EQUAL trigger STRING; the Celsius phone sensor gets its units."""
    matrix = template(plan_of("matrix"), "Matrix")
    by_pin = {d.datastream.pin.name: d.datastream for d in matrix.datastreams}
    assert by_pin["v61"].type is DataType.DOUBLE
    assert by_pin["v62"].type is DataType.STRING
    assert by_pin["v63"].type is DataType.STRING
    assert by_pin["v64"].units == "Celsius"


def test_v030_dashboard_storage_and_history_pins() -> None:
    """§6 "v0.30": dashboard-level ``0-v1`` and ``0-v1-color``; an unreadable key reported."""
    plan = plan_of("v0.30", history=[("dave@example.com", "Blynk", 10, 0, "v", 1)])
    old = template(plan, "Old")
    assert values(old, 0) == {"v1": 21.5}
    (prop,) = [v for v in old.devices[0].values if v.property is not None]
    assert (prop.property, prop.property_json) == ("color", '"#FF0000"')
    assert "STORAGE_KEY_UNREADABLE" in codes(plan)


def test_history_alone_adds_a_double_pin() -> None:
    """§2.6 step 1 and rule 3: a pin known only from its history files is DOUBLE."""
    plan = plan_of("v0.30", history=[("dave@example.com", "Blynk", 10, 0, "v", 9)])
    assert types(template(plan, "Old"))["v9"] == "DOUBLE"


def test_v019_project_token_becomes_device_zero() -> None:
    """§6 "v0.19": ``name`` is the key, the ``dashTokens`` token is device 0 "My Device" with
    the dashboard's board type, ``storagePins`` give its value, the share token is reported."""
    plan = plan_of("v0.19")
    (carol,) = plan.users
    assert carol.email == "carol@example.com"
    (legacy,) = carol.templates
    (device,) = legacy.devices
    assert (device.name, device.token) == ("My Device", "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0")
    assert device.hardware.board_type == "Arduino UNO"
    assert values(legacy, 0) == {"v9": "hello"}
    assert types(legacy) == {"v9": "STRING", "d8": "INT"}
    assert "SHARE_TOKEN_NOT_IMPORTED" in codes(plan)


def test_identities_merge_by_email_and_report_admin_and_facebook() -> None:
    """§6 "identities": ``Bob@Example.com`` of the app merges into bob's organization (the
    Blynk password), a Facebook user has no password, the super admin is reported."""
    plan = plan_of("identities")
    bob = user(plan, "bob@example.com")
    assert bob.app_names == ("Blynk", "blynkAbCd1234")
    assert bob.org_type == "BUSINESS"
    assert bob.client_hash == "fD9jqz1303HXurfKkTf29V9zN5mC0lFgpyS4ovvGck4="
    assert [t.name for t in bob.templates] == ["Product", "Product [blynkAbCd1234]"]
    assert user(plan, "fb@example.com").client_hash is None
    assert user(plan, "admin@blynk.cc").org_name == "admin at blynk.cc"
    found = codes(plan)
    for code in ("PROFILES_MERGED", "NO_PASSWORD", "SUPER_ADMIN"):
        assert code in found
    assert user(plan, "enduser@example.com").parent_email is None


def test_app_export_end_user_nests_under_its_publisher() -> None:
    """§6 "App Export" with ``--nest-app-export``: the end user's organization goes under the
    publisher's, planned after it."""
    plan = plan_of("identities", nest_app_export=True)
    assert user(plan, "enduser@example.com").parent_email == "bob@example.com"
    assert plan.users[-1].email == "enduser@example.com"


def test_an_app_export_user_with_a_blynk_profile_merges_instead_of_nesting() -> None:
    """§5.1: a publisher's end user who also has a Blynk profile cannot nest (unique e-mails)."""
    plan = plan_of("identities", nest_app_export=True)
    assert user(plan, "bob@example.com").parent_email is None


def test_shared_token_stays_with_the_newer_user_under_skip() -> None:
    """§6 "token problems": the newer user keeps a shared token, the other device gets a new
    one (TOKEN_DUP); a device without a token gets a new one (TOKEN_MISSING)."""
    plan = plan_of("tokens")
    newer = user(plan, "newer@example.com").templates[0].devices[0]
    older = user(plan, "older@example.com").templates[0].devices
    assert newer.token == "dupdupdupdupdupdupdupdupdupdupdu"
    assert newer.token_kept
    assert older[0].token != newer.token
    assert not older[0].token_kept
    assert len(older[1].token) == 32
    assert not older[1].token_kept
    assert {"TOKEN_DUP", "TOKEN_MISSING"} <= set(codes(plan))


def test_shared_token_under_fail_stops_the_plan() -> None:
    """``--on-token-conflict fail``: the plan refuses, naming both devices."""
    with pytest.raises(TokenConflict, match=r"older@example\.com"):
        plan_of("tokens", on_token_conflict=FAIL)


def test_only_limits_the_plan_to_the_named_users() -> None:
    """``--only``: other users are left out; an e-mail of no user is reported."""
    plan = plan_of("tokens", only=frozenset({"older@example.com", "nobody@example.com"}))
    assert [u.email for u in plan.users] == ["older@example.com"]
    assert [i.subject for i in plan.issues if i.code == "ONLY_NOT_FOUND"] == ["nobody@example.com"]


def test_noise_names_are_cleaned_to_pinbase_rules() -> None:
    """§6 "noise": a BOM is accepted; long non-ASCII names are reduced (template ≤ 100 letters,
    digits and spaces; device ≤ 50), labels lose ``/ #``."""
    (nina,) = plan_of("noise").users
    (project,) = nina.templates
    assert len(project.name) <= 100
    assert project.name.startswith("Überwachung der Gewächshäuser")
    assert "/" not in project.name
    assert "#" not in project.name
    (device,) = project.devices
    assert len(device.name) <= 50
    assert device.name.startswith("Überwachung")
    assert project.datastreams[0].datastream.label == "Ein Aus 1"


def test_names_fall_back_to_the_rules_of_section_5() -> None:
    """§5.1/§5.2 name rules: organization from the e-mail, user from its local part, device
    "New Device"."""
    assert organization_name(None, "jo@x.io") == "jo at x.io"
    assert organization_name("A", "@") == "Legacy user"
    assert user_name("jo@x.io", "jo.smith2@x.io") == "jo smith"
    assert user_name(None, "123@x.io") == "User"
    assert device_name("!!!") == "New Device"
