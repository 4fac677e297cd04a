"""LEG-10 ``data/{pin}``: a pin's history as a gzipped CSV, handed out by a 301 to this host.

Theory of operation. The handler reads the pin's recent history, writes it to
``<data_dir>/legacy_exports/<device id>_<pin>_<32 hex>.csv.gz`` and redirects to ``/<that name>``.
``ExportFileRoute`` matches exactly such names and nothing else, so it shadows no other path.
As in Blynk 1.0 the download needs no token: the 128 random bits of the name are the credential.
Files live ``EXPORT_TTL_S``; each new export deletes the expired ones.

Rows are ``value,timestamp,device id``, the legacy server's CSV layout (its ``CSVGenerator``).
"""

import contextlib
import csv
import gzip
import logging
import re
import secrets
from collections.abc import Sequence
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Match, Route
from starlette.types import Scope

from pinbase.domain.datastreams import Datastream
from pinbase.domain.ids import DeviceId
from pinbase.http.legacy_api import messages
from pinbase.http.legacy_api.inputs import authenticate, datastream_on, pin_of
from pinbase.http.legacy_api.rendering import wire_items
from pinbase.http.legacy_api.replies import CORS, LegacyError, redirect_reply, text_reply
from pinbase.services.clock import DAY_MS
from pinbase.services.container import Services
from pinbase.settings import Settings
from pinbase.storage.base import HistoryRow
from pinbase.storage.codec import history_value
from pinbase.storage.data_folder import EXPORTS, create_private_file, make_private_folder

logger = logging.getLogger(__name__)

EXPORT_WINDOW_MS = 30 * DAY_MS
"""How far back an export reaches: Blynk 1.0 exported 30 days (60 * 24 * 30 minute points)."""

MAX_EXPORT_ROWS = 100_000
"""Rows per export, oldest first within the window; bounds the time and disk of one request."""

EXPORT_TTL_S = 3600
"""How long a generated file can be downloaded; an export is fetched right after its redirect."""

FILE_NAME = re.compile(r"[0-9]{1,19}_[adv][0-9]{1,3}_[0-9a-f]{32}\.csv\.gz")
EXPORT_PATH = re.compile(rf"/{FILE_NAME.pattern}")
GZIP = "application/gzip"


class ExportFileRoute(Route):
    """A route that matches generated export file names only, at the root of the host."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """No match at all for other paths, so they still reach the app's 404 (never a 405)."""
        if scope["type"] == "http" and EXPORT_PATH.fullmatch(scope["path"]):
            return super().matches(scope)
        return Match.NONE, {}


class ExportEndpoints:
    """Handlers of the history export and of the download of its file."""

    def __init__(self, services: Services, settings: Settings) -> None:
        self._services = services
        self._folder = settings.data_dir / EXPORTS

    async def export(self, request: Request) -> Response:
        """Write the CSV and redirect to it; ``No data.`` when the pin has no recent history."""
        bound = await authenticate(self._services, request)
        datastream = datastream_on(bound.template, pin_of(request))
        now = self._services.clock()
        rows = await self._services.charts.recent_points(
            bound.device.id, datastream.id, window_ms=EXPORT_WINDOW_MS, limit=MAX_EXPORT_ROWS
        )
        if not rows:
            raise LegacyError(messages.NO_DATA)
        name = f"{bound.device.id}_{datastream.pin.name}_{secrets.token_hex(16)}.csv.gz"
        try:
            await run_in_threadpool(
                self._write, name, rows, datastream=datastream, device_id=bound.device.id, now=now
            )
        except OSError:
            logger.exception("legacy.export_failed device_id=%d", bound.device.id)
            raise LegacyError(messages.PIN_DATA_ERROR) from None
        return redirect_reply(f"/{name}")

    async def download(self, request: Request) -> Response:
        """The generated file; ``404`` with an empty body once it expired."""
        name: str = request.path_params["name"]
        path = self._folder / name
        if not path.is_file():
            return text_reply(status=404)
        return FileResponse(path, media_type=GZIP, filename=name, headers=CORS)

    def _write(
        self,
        name: str,
        rows: Sequence[HistoryRow],
        *,
        datastream: Datastream,
        device_id: DeviceId,
        now: int,
    ) -> None:
        """Runs in a worker thread: prune expired files, then write this export."""
        make_private_folder(self._folder)
        _prune(self._folder, now_s=now // 1000)
        with (
            create_private_file(self._folder / name) as file,
            gzip.open(file, "wt", encoding="utf-8", newline="") as handle,
        ):
            writer = csv.writer(handle, lineterminator="\n")
            for row in rows:
                value = history_value(datastream.type, row.num, row.text)
                writer.writerow([",".join(wire_items(datastream, value)), row.ts, device_id])


def _prune(folder: Path, *, now_s: int) -> None:
    for path in folder.iterdir():
        if not FILE_NAME.fullmatch(path.name):
            continue
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < now_s - EXPORT_TTL_S:
                path.unlink()
