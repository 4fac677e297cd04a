"""The Platform API's one error shape, ``{"error":{"message":…}}``, for every failure.

Handlers raise ``PlatformError``; FastAPI's own failures (validation, unknown path, wrong
method) and a refused storage write are mapped here too, so no other shape ever leaves.
"""

from collections.abc import Mapping

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from pinbase.domain.errors import (
    InvalidDefinition,
    PinbaseError,
    TextHoldsNul,
    ValueMismatch,
    ValueTooLong,
)
from pinbase.domain.values import MAX_STRING_BYTES
from pinbase.http.methods import allowed_methods
from pinbase.http.platform_api import messages
from pinbase.http.responses import error_response, server_error
from pinbase.services.datastream_values import BatchTooLarge, OutsideImportWindow
from pinbase.services.device_commands import BadRedirect, CommandNotSupported, DeviceOffline
from pinbase.services.firmware import FirmwareNotFound, FirmwareRefused
from pinbase.services.history_writer import StorageUnavailable
from pinbase.services.scope import (
    DatastreamNotFound,
    DeviceNotFound,
    OrganizationOutOfScope,
    TemplateNotFound,
)
from pinbase.services.shipments import ShipmentNotFound, ShipmentRefused
from pinbase.services.telemetry import ImportQuotaExceeded
from pinbase.services.templates import (
    DatastreamNotInTemplate,
    EventNotInTemplate,
    MetafieldNotInTemplate,
    TemplateInUse,
)


class PlatformError(Exception):
    """Answer with ``message`` in Blynk's error shape, ``status`` and extra ``headers``."""

    def __init__(
        self, message: str, status: int = 400, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.headers = dict(headers or {})


def incorrect_parameters() -> PlatformError:
    """The generic validation error of OP-06, OP-07 and OP-14."""
    return PlatformError(messages.INCORRECT_PARAMETERS)


def device_not_found(device_id: int) -> PlatformError:
    """The 404 of every endpoint taking ``deviceId``, for a missing or out-of-scope device."""
    return PlatformError(messages.DEVICE_NOT_FOUND.format(device_id=device_id), 404)


def datastream_not_found(datastream_id: int | str) -> PlatformError:
    """The 404 for a datastream the device's template does not have."""
    return PlatformError(messages.DATASTREAM_NOT_FOUND.format(datastream_id=datastream_id), 404)


def organization_not_found(org_id: int) -> PlatformError:
    """The 404 of endpoints taking ``orgId``, for a missing or out-of-scope organization."""
    return PlatformError(messages.ORG_NOT_FOUND.format(org_id=org_id), 404)


def organization_by_id_not_found() -> PlatformError:
    """The 404 of PLT-ORG-02, whose message names no identifier."""
    return PlatformError(messages.ORG_NOT_FOUND_PLAIN, 404)


def parent_organization_not_found() -> PlatformError:
    """The 404 of PLT-ORG-04 for a missing or out-of-scope ``parentId``."""
    return PlatformError(messages.PARENT_ORG_NOT_FOUND, 404)


def template_not_found() -> PlatformError:
    """The 404 of PLT-TPL-02..05, for a missing or out-of-scope template."""
    return PlatformError(messages.TEMPLATE_NOT_FOUND, 404)


DEVICE_OFFLINE_STATUS = 409
"""A device command for a device with no live connection (Pinbase extension)."""


def refusal(error: PinbaseError) -> PlatformError:
    """The answer to a use case's refusal that reads the same on every endpoint; endpoints
    whose documented message differs catch the refusal themselves."""
    match error:
        case DeviceNotFound(args=(device_id, *_)):
            return device_not_found(device_id)
        case DatastreamNotFound(args=(key, *_)) | DatastreamNotInTemplate(args=(key, *_)):
            return datastream_not_found(key)
        case TemplateNotFound():
            return template_not_found()
        case OrganizationOutOfScope(args=(org_id, *_)):
            return organization_not_found(org_id)
        case EventNotInTemplate():
            return PlatformError(messages.EVENT_NOT_FOUND_BY_ID, 404)
        case MetafieldNotInTemplate():
            return PlatformError(messages.META_FIELD_NOT_FOUND, 404)
        case TemplateInUse(args=(devices, *_)):
            return PlatformError(messages.TEMPLATE_IN_USE.format(devices=devices))
        case InvalidDefinition():
            return PlatformError(str(error))
        case ValueTooLong():
            return PlatformError(messages.VALUE_TOO_LONG.format(limit=MAX_STRING_BYTES))
        case ValueMismatch():
            return PlatformError(messages.MISMATCH)
        case BatchTooLarge(args=(limit, *_)):
            return PlatformError(messages.BATCH_TOO_LARGE.format(limit=limit))
        case ImportQuotaExceeded(limit=limit):
            return PlatformError(messages.IMPORT_QUOTA.format(limit=limit))
        case DeviceOffline():
            return PlatformError(messages.DEVICE_OFFLINE, DEVICE_OFFLINE_STATUS)
        case BadRedirect() | CommandNotSupported():
            return PlatformError(str(error))
        case FirmwareNotFound(args=(firmware_id, *_)):
            return PlatformError(f"Firmware with id {firmware_id} is not found.", 404)
        case ShipmentNotFound(args=(shipment_id, *_)):
            return PlatformError(f"Shipment with id {shipment_id} is not found.", 404)
        case FirmwareRefused() | ShipmentRefused():
            return PlatformError(str(error.args[0]))
    return incorrect_parameters()


REFUSALS: tuple[type[PinbaseError], ...] = (
    DeviceNotFound,
    DatastreamNotFound,
    DatastreamNotInTemplate,
    TemplateNotFound,
    OrganizationOutOfScope,
    EventNotInTemplate,
    MetafieldNotInTemplate,
    TemplateInUse,
    InvalidDefinition,
    ValueMismatch,
    BatchTooLarge,
    OutsideImportWindow,
    ImportQuotaExceeded,
    DeviceOffline,
    BadRedirect,
    FirmwareNotFound,
    FirmwareRefused,
    ShipmentNotFound,
    ShipmentRefused,
    CommandNotSupported,
)
"""The refusals ``refusal`` answers, handled for every endpoint."""


def install_error_handlers(app: FastAPI) -> None:
    """Route every failure of ``app`` through Blynk's error shape."""

    async def refused(_request: Request, exc: Exception) -> Response:
        answer = refusal(exc) if isinstance(exc, PinbaseError) else incorrect_parameters()
        return error_response(answer.message, answer.status)

    for kind in REFUSALS:
        app.add_exception_handler(kind, refused)

    @app.exception_handler(PlatformError)
    async def platform_error(_request: Request, exc: PlatformError) -> Response:
        response = error_response(exc.message, exc.status)
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, _exc: RequestValidationError) -> Response:
        return error_response(messages.INCORRECT_PARAMETERS, 400)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 405:
            response = error_response(messages.METHOD_NOT_ALLOWED, 405)
            response.headers["Allow"] = allowed_methods(app.router.routes, request.scope)
            return response
        if exc.status_code == 404:
            return error_response(messages.NOT_FOUND, 404)
        return error_response(messages.INCORRECT_PARAMETERS, 400)

    @app.exception_handler(TextHoldsNul)
    async def text_holds_nul(_request: Request, _exc: TextHoldsNul) -> Response:
        # Text no column can keep, refused alike on both engines (storage/text_columns.py).
        return error_response(messages.INCORRECT_PARAMETERS, 400)

    @app.exception_handler(StorageUnavailable)
    async def storage_unavailable(_request: Request, _exc: StorageUnavailable) -> Response:
        return error_response(messages.STORAGE_UNAVAILABLE, 503)

    app.add_exception_handler(Exception, server_error)
