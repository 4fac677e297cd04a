"""The legacy widget catalogue (legacy-import.md §2.4, §5.3): what each known widget type tells
about its pin (recommended data type, whether it sends), and which features are not migrated.
"""

INT, DOUBLE, STRING, ENUM = "INT", "DOUBLE", "STRING", "ENUM"

# type -> (recommended type or None for "evidence", sends on the pin)
ONE_PIN: dict[str, tuple[str | None, bool]] = {
    "BUTTON": (INT, True),
    "SWITCH": (INT, True),
    "STYLED_BUTTON": (INT, True),
    "SLIDER": (INT, True),
    "VERTICAL_SLIDER": (INT, True),
    "STEP": (INT, True),
    "VERTICAL_STEP": (INT, True),
    "NUMBER_INPUT": (INT, True),
    "MENU": (ENUM, True),
    "SEGMENTED_CONTROL": (ENUM, True),
    "TEXT_INPUT": (STRING, True),
    "QR": (STRING, True),
    "TERMINAL": (STRING, False),
    "TIME_INPUT": (STRING, True),
    "TIMER": (INT, True),
    "LED": (INT, False),
    "DIGIT4_DISPLAY": (None, False),
    "LABELED_VALUE_DISPLAY": (None, False),
    "GAUGE": (DOUBLE, False),
    "LEVEL_DISPLAY": (DOUBLE, False),
    "VERTICAL_LEVEL_DISPLAY": (DOUBLE, False),
    "MAP": (STRING, False),
    "VIDEO": (STRING, False),
    "IMAGE": (INT, False),
    "PLAYER": (STRING, True),
    "TABLE": (STRING, True),
    "WEBHOOK": (None, False),
    "GPS_STREAMING": (STRING, True),
    "ACCELEROMETER": (STRING, True),
    "GRAVITY": (STRING, True),
    "LIGHT": (DOUBLE, True),
    "TEMPERATURE": (DOUBLE, True),
    "HUMIDITY": (DOUBLE, True),
    "BAROMETER": (DOUBLE, True),
    "PROXIMITY": (INT, True),
    "GPS_TRIGGER": (INT, True),
    "GRAPH": (DOUBLE, False),
    "FIELD_INPUT": (STRING, True),
    "ONE_AXIS_JOYSTICK": (INT, True),
}

PHONE_WIDGETS = frozenset(
    {
        "GPS_STREAMING",
        "ACCELEROMETER",
        "GRAVITY",
        "LIGHT",
        "TEMPERATURE",
        "HUMIDITY",
        "BAROMETER",
        "PROXIMITY",
        "GPS_TRIGGER",
    }
)
"""Phone sensors: their values came from the legacy app, which will not talk to Pinbase."""

NO_PIN_WIDGETS = frozenset(
    {
        "NOTIFICATION",
        "EMAIL",
        "SMS",
        "TWITTER",
        "TABS",
        "TEXT",
        "LINK_BUTTON",
        "BRIDGE",
        "BLUETOOTH",
        "BLUETOOTH_SERIAL",
        "RTC",
        "DEVICE_SELECTOR",
    }
)
"""Widgets without a datastream (§2.4, §5.3)."""

MULTI_PIN_WIDGETS = frozenset({"RGB", "ZERGBA", "TWO_AXIS_JOYSTICK", "LCD", "LOGGER"})

NUMERIC_CONDITIONS = frozenset({"GT", "GTE", "LT", "LTE", "EQ", "NEQ", "BETWEEN", "NOT_BETWEEN"})
TEXT_CONDITIONS = frozenset({"STR_EQUAL", "STR_NOT_EQUAL"})

NOT_MIGRATED = {
    "EVENTOR": "EVENTOR_NOT_MIGRATED",
    "WEBHOOK": "WEBHOOK_NOT_MIGRATED",
    "REPORT": "REPORT_NOT_MIGRATED",
    "SMS": "SMS_NOT_MIGRATED",
    "TWITTER": "TWITTER_NOT_MIGRATED",
}
"""Server-side features the import reports instead of migrating (§5.3)."""

WHY_NOT = {
    "EVENTOR_NOT_MIGRATED": "Eventor rules ran on the legacy server; recreate them as automations",
    "WEBHOOK_NOT_MIGRATED": "the pin is kept; recreate the HTTP call as a Pinbase webhook",
    "REPORT_NOT_MIGRATED": "scheduled CSV e-mails are not migrated; the pins and history are",
    "SMS_NOT_MIGRATED": "Pinbase sends no SMS",
    "TWITTER_NOT_MIGRATED": "Pinbase does not tweet; the OAuth secrets are never imported",
}


def is_known_type(kind_type: str) -> bool:
    """Whether §2.4 lists the widget type (else it is read generically and reported)."""
    return (
        kind_type in ONE_PIN
        or kind_type in NO_PIN_WIDGETS
        or kind_type in MULTI_PIN_WIDGETS
        or kind_type in ("ENHANCED_GRAPH", "REPORT", "EVENTOR", "DEVICE_TILES")
    )
