"""Every error message of the Device HTTPS API, byte-exact (http-api.md §1.12, OP-01).

Punctuation differs between endpoints in Blynk's originals and clients match these verbatim, so
each endpoint names the constant it uses; never "fix" a missing full stop.
"""

INVALID_TOKEN = "Invalid token."  # noqa: S105  # an error message, not a credential
NO_TOKEN = "No token provided."  # noqa: S105  # an error message, not a credential
WRONG_PIN = "Wrong pin format."
WRONG_DATASTREAM_ID = "Wrong dataStreamId format."
MISMATCH_WITH_STOP = "Value doesn't match the Datastream data type."
MISMATCH = "Value doesn't match the Datastream data type"
NO_DATASTREAM_ON_PIN = "No datastream setup for that pin."
NO_DATASTREAM_IN_PRODUCT = "Requested dataStream doesn't exist in the product {template_name}"
UNKNOWN_CONTENT_TYPE = "Unknown content type."
BATCH_TOO_LARGE = "Too much data in batch. Maximum batch size is {limit} points."
NO_EVENT_CODE = "Event code is not provided."
UNKNOWN_EVENT_CODE = "Can't find Event with this code in Product template"
INCORRECT_PARAMETERS = "Request with incorrect parameters"
NO_ENUM_CONSTANT = (
    "No enum constant cc.blynk.server.core.model.widgets.outputs.graph.Period.{value}"
)
NO_DATA = "No data"
WRONG_METAFIELD_WITH_STOP = "Wrong metaField format."
NO_METAFIELD_WITH_STOP = "MetaField doesn't exist."
WRONG_METAFIELD = "Wrong metaField format"
NO_METAFIELD = "MetaField doesn't exist"
WRONG_VALUE = "Wrong value"
UPLOADS_LIMIT = "File uploads limit has been reached."

# Pinbase's own messages, for cases Blynk documents no string for (docs/decisions.md).
VALUE_TOO_LONG = "Value is too long. The maximum is {limit} bytes."
IMPORT_QUOTA = "Daily limit of {limit} imported points reached."
TEMPLATE_MISMATCH = "Template ID doesn't match the device's template."
REPORT_QUOTA = "Daily limit of {limit} data exports reached."
REPORT_TOO_LARGE = "Too much data for one report. Choose a shorter period or one datastream."
METAFIELD_READ_ONLY = "MetaField is read-only"
UPLOAD_TOO_LARGE = "File is too large. The maximum is {limit} bytes."
NOT_FOUND = "Not found."
METHOD_NOT_ALLOWED = "Method not allowed."
STORAGE_UNAVAILABLE = "Storage is unavailable; nothing was stored. Try again."
"""A 503: a group commit failed or the database cannot be reached; nothing was stored."""
TOO_MANY_REQUESTS = "Too Many Requests"
UPDATE_QUOTA = "Update requests limit has been reached."
