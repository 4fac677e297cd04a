"""Any JSON a ``.user`` file may hold plans without an exception (legacy-import.md §1.4: every
field defaulted, unknown ones ignored): hypothesis over objects of the legacy field names."""

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pinbase.domain.legacy_plan import PlanOptions, plan_import
from pinbase.domain.legacy_profiles import LegacyFormatError, decode_profile

KEYS = [
    "email", "name", "appName", "pass", "lastModifiedTs", "profile", "dashBoards", "devices",
    "widgets", "id", "type", "pin", "pinType", "pins", "value", "min", "max", "label",
    "deviceId", "targetId", "dataStreams", "reportSources", "reportDataStreams", "templates",
    "tiles", "deviceIds", "tags", "token", "pinsStorage", "storagePins", "dashTokens",
    "dashShareTokens", "rules", "triggerPin", "condition", "actions", "labels", "splitMode",
    "pwmMode", "maximumFractionDigits", "valueFormatting", "step", "hardwareInfo", "apps",
    "tzName", "notifyWhenOffline", "connectionType", "boardType", "dataStream", "mode",
]  # fmt: skip
TYPES = ["BUTTON", "SLIDER", "MENU", "RGB", "LCD", "ENHANCED_GRAPH", "REPORT", "EVENTOR",
         "DEVICE_TILES", "TIMER", "DEVICE_SELECTOR", "RTC", "NOTIFICATION", "FOO", "VIRTUAL",
         "DIGITAL", "ANALOG", "SETPIN", "GT", "STR_EQUAL"]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.sampled_from([-5, -1, 0, 1, 5, 256, 300, 10**30, 100001, 200005]),
    st.floats(allow_nan=False),
    st.sampled_from(TYPES),
    st.text(max_size=8),
    st.sampled_from(["0-v1", "1-0-v5-label", "7-0-a300", "v9", "0", "a@x.io"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=4)), inner, max_size=6),
    ),
    max_leaves=40,
)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), json_values, max_size=8))
def test_any_profile_json_plans_or_is_refused(data: dict[str, Any]) -> None:
    """A decoded profile of any shape plans; only a file with no e-mail is refused."""
    try:
        profile = decode_profile(json.dumps(data), path="fuzz@example.com.Blynk.user")
    except LegacyFormatError:
        return
    plan_import([profile], options=PlanOptions(), now=1_700_000_000_000)


objects = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=8)


@settings(max_examples=100, deadline=None)
@given(
    widgets=st.lists(objects, max_size=4),
    devices=st.lists(objects, max_size=3),
    dash=objects,
    storage=st.dictionaries(st.sampled_from(["1-0-v1", "0-v2", "1-0-d3-color", "x"]), json_values),
)
def test_any_dashboard_plans(
    widgets: list[dict[str, Any]],
    devices: list[dict[str, Any]],
    dash: dict[str, Any],
    storage: dict[str, Any],
) -> None:
    """Widgets, devices and storage of any shape inside a well-formed profile plan."""
    data = {
        "email": "fuzz@example.com",
        "profile": {
            "dashBoards": [{**dash, "id": 1, "widgets": widgets, "devices": devices}],
            "pinsStorage": storage,
        },
    }
    profile = decode_profile(json.dumps(data), path="fuzz@example.com.Blynk.user")
    plan_import([profile], options=PlanOptions(), now=1_700_000_000_000)
