"""The device API's routes, each wrapped so an ``ApiError`` becomes Blynk's error body."""

from starlette.routing import Route

from pinbase.http.device_api.events import EventEndpoints
from pinbase.http.device_api.firmware_download import FirmwareDownloads
from pinbase.http.device_api.messages import STORAGE_UNAVAILABLE
from pinbase.http.device_api.metadata import MetadataEndpoints
from pinbase.http.device_api.properties import PropertyEndpoints
from pinbase.http.device_api.report import ReportEndpoints
from pinbase.http.device_api.status import StatusEndpoints
from pinbase.http.device_api.uploads import UploadEndpoints
from pinbase.http.device_api.values import ValueEndpoints
from pinbase.http.handlers import Handler, answering
from pinbase.http.responses import ApiError, error_response
from pinbase.services.container import Services
from pinbase.settings import Settings


def answering_errors(handler: Handler) -> Handler:
    """Turn ``ApiError`` into Blynk's JSON error body; a storage failure into a 503."""
    return answering(
        handler, errors=ApiError, answer=error_response, storage_message=STORAGE_UNAVAILABLE
    )


def device_routes(services: Services, settings: Settings) -> list[Route]:
    """Every ``/external/api/...`` route (http-api.md §2)."""
    values = ValueEndpoints(services, settings)
    properties = PropertyEndpoints(services)
    events = EventEndpoints(services)
    status = StatusEndpoints(services)
    metadata = MetadataEndpoints(services)
    reports = ReportEndpoints(services, settings)
    uploads = UploadEndpoints(services, settings)
    firmware = FirmwareDownloads(services)
    table: list[tuple[str, Handler, str]] = [
        ("/external/api/batch/update", values.batch_update, "GET"),
        ("/external/api/batch/update", values.upload_timestamped, "POST"),
        ("/external/api/update", values.update, "GET"),
        ("/external/api/get", values.get, "GET"),
        ("/external/api/getAll", values.get_all, "GET"),
        ("/external/api/update/property", properties.update_property, "GET"),
        ("/external/api/logEvent", events.log_event, "GET"),
        ("/external/api/isHardwareConnected", status.is_hardware_connected, "GET"),
        ("/external/api/provision", status.provision, "GET"),
        ("/external/api/device/meta", metadata.get_meta, "GET"),
        ("/external/api/device/meta/update", metadata.update_meta, "GET"),
        ("/external/api/data/get", reports.get_data, "GET"),
        ("/external/api/upload", uploads.upload, "POST"),
        # Public files: the links DEV-08 and DEV-13 hand out. Each handler serves only names of
        # its exact pattern; a path parameter never holds "/", so nothing else is reachable.
        ("/device_data_{device_id}_{stamp}.zip", reports.download, "GET"),
        ("/device_uploads/{device_id}/{name}", uploads.download, "GET"),
        # Blynk.Air downloads (device-lifecycle.md §1.7): the token in the query is the key.
        ("/static/ota/{name}", firmware.download, "GET"),
    ]
    return [
        Route(path, answering_errors(handler), methods=[method]) for path, handler, method in table
    ]
