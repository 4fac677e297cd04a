"""Every message of the legacy API, byte-exact (http-api.md §5, OP-31).

Old scripts compare these bodies verbatim. Where the apiary text and the server's code disagree
the code wins (OP-31), so ``Requested pin doesn't exist in the app.``, not the apiary's spelling.
"""

INVALID_TOKEN = "Invalid token."  # noqa: S105  # an error message, not a credential
WRONG_PIN = "Wrong pin format."
NO_PIN_IN_APP = "Requested pin doesn't exist in the app."
WRONG_REQUEST_FORMAT = "Wrong request format."
NO_PROPERTIES = "No properties for update provided."
PROPERTY_REFUSED = "Error setting widget property."
NO_WIDGET_FOR_PROPERTY = "No widget for SetWidgetProperty command."
NO_PIN_FOR_UPDATE = "No pin for update provided."
UNEXPECTED_CONTENT_TYPE = "Unexpected content type. Expecting application/json."
PARSE_ERROR = "Error parsing body param. {body}"
BAD_NOTIFICATION_BODY = "Body is empty or larger than 255 chars."
BAD_EMAIL = "Email body is wrong. Missing or empty fields 'to', 'subj'."
NO_DATA = "No data."
PIN_DATA_ERROR = "Error getting pin data."
NO_RTC = "Requested rtc not exists in app."
TOO_MANY_REQUESTS = "Too Many Requests"  # Pinbase's own: the old server had no HTTP rate limit

# Blynk strings our model never reaches, kept so the catalogue is whole: a token always sits in
# the path, the project is treated as always active (§5.1), and there are no notification or
# e-mail widgets to be missing (see ``notifications``).
NO_TOKEN = "No token provided."  # noqa: S105  # an error message, not a credential
PROJECT_NOT_ACTIVE = "Project is not active."
NO_NOTIFICATION_WIDGET = "No notification widget."
NOTIFICATION_NOT_INITIALIZED = "Notification widget not initialized."
NO_EMAIL_WIDGET = "No email widget."

# Pinbase's own messages, for cases the legacy server had no string for (Blynk 1.0 pins were
# untyped and unlimited). Worded like their Device API counterparts.
MISMATCH = "Value doesn't match the Datastream data type."
VALUE_TOO_LONG = "Value is too long. The maximum is {limit} bytes."
TOO_MANY_POINTS = "Too much data in batch. Maximum batch size is {limit} points."
IMPORT_QUOTA = "Daily limit of {limit} imported points reached."
TIMESTAMP_OUT_OF_WINDOW = "Timestamp {ts} is more than {days} days away from now."
STORAGE_UNAVAILABLE = "Storage is unavailable; nothing was stored. Try again."
