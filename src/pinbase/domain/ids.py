"""Distinct identifier types, so a device id can never be passed where an org id is expected."""

from typing import NewType

OrgId = NewType("OrgId", int)
TemplateId = NewType("TemplateId", int)
DatastreamId = NewType("DatastreamId", int)
DeviceId = NewType("DeviceId", int)
EventId = NewType("EventId", int)
MetafieldId = NewType("MetafieldId", int)
Token = NewType("Token", str)
"""A device auth token: 32 URL-safe characters on Blynk.Cloud, 32 hex on the legacy server."""
