"""Every error message of the Platform API, byte-exact (http-api.md §1.12, OP-01, OP-19).

Blynk's punctuation differs between messages (a full stop here, an exclamation mark there) and
clients match them verbatim; never "fix" one.
"""

from pinbase.http.device_api import messages as device_messages

DEVICE_NOT_FOUND = (
    "Device with identifier {device_id} is not found or belong to another organization."
)
DATASTREAM_NOT_FOUND = "Data stream with identifier {datastream_id} is not found!"
ORG_NOT_FOUND = "Organization with identifier {org_id} is not found or you don't have access to it."
ORG_NOT_FOUND_PLAIN = "Organization is not found or you don't have access to it."
PARENT_ORG_NOT_FOUND = "Parent organization is not found or you don't have access to it."
TEMPLATE_NOT_FOUND = "Template is not found or you don't have access to it."
INCORRECT_PARAMETERS = "Request with incorrect parameters"
MISMATCH = "Value doesn't match the Datastream data type"

# OP-19: undocumented by Blynk, Pinbase's own choice.
UNAUTHORIZED = "Unauthorized"
TOO_MANY_REQUESTS = "Too Many Requests"

# Shared with the device API, whose limits the Platform API enforces too (docs/decisions.md).
VALUE_TOO_LONG = device_messages.VALUE_TOO_LONG
BATCH_TOO_LARGE = device_messages.BATCH_TOO_LARGE
IMPORT_QUOTA = device_messages.IMPORT_QUOTA
NOT_FOUND = device_messages.NOT_FOUND
METHOD_NOT_ALLOWED = device_messages.METHOD_NOT_ALLOWED
STORAGE_UNAVAILABLE = "Storage is unavailable; nothing was stored. Try again."
