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
USER_NOT_FOUND = "User with identifier {user_id} is not found or belong to another organization."
USER_NOT_FOUND_400 = "User with identifier {user_id} is not found."
TARGET_ORG_NOT_FOUND = "Target organization is not found."
ROLE_NOT_FOUND = "Role is not found."
ROLE_FORBIDDEN = (
    "You don't have permissions to access this Role. Contact administrator for details."
)
EMAIL_IN_USE = "{email} is already in use"
MISMATCH = "Value doesn't match the Datastream data type"

# Device management, PLT-DEV-09 and PLT-DEV-14.
TEMPLATE_NOT_FOUND_PLAIN = "Template is not found."
OWNER_NOT_FOUND = "User is not found or you don't have access to him."
DESTINATION_ORG_NOT_FOUND = "Destination organization is not found or you don't have access to it."
SAME_OWNER = "Can't transfer to the same owner"
OWNER_NOT_ACTIVATED = "The new owner's account is not activated."  # undocumented: Pinbase's own

# Device records, PLT-DEV-16 and PLT-DEV-19.
META_FIELD_NOT_FOUND = "Meta field is not found."
INVALID_META_VALUE = "The provided value for metafield is invalid."
EVENT_NOT_FOUND = "Event with provided code is not found."

# Template editing, a Pinbase extension: Pinbase's own messages.
EVENT_NOT_FOUND_BY_ID = "Event is not found."
TEMPLATE_IN_USE = "Template is used by {devices} device(s); delete or move them first."

# Device commands, a Pinbase extension (issue #12): Pinbase's own message.
DEVICE_OFFLINE = "Device is offline."

# OP-19: undocumented by Blynk, Pinbase's own choice.
UNAUTHORIZED = "Unauthorized"
TOO_MANY_REQUESTS = "Too Many Requests"

# Shared with the device API, whose limits the Platform API enforces too (docs/decisions.md).
VALUE_TOO_LONG = device_messages.VALUE_TOO_LONG
BATCH_TOO_LARGE = device_messages.BATCH_TOO_LARGE
IMPORT_QUOTA = device_messages.IMPORT_QUOTA
NOT_FOUND = device_messages.NOT_FOUND
METHOD_NOT_ALLOWED = device_messages.METHOD_NOT_ALLOWED
STORAGE_UNAVAILABLE = device_messages.STORAGE_UNAVAILABLE
