"""The Webhooks section (automations.md §4.1, §4.8, §4.9; issue #10 item 3): the list with
each webhook's menu (Edit, Test, Disable or Enable, Delete), the editor with "Test webhook",
and a page per webhook with its Information and Logs tabs.

Every change is one call of ``services.webhooks``, which the Platform API extension and the
provisioning file call too. A refused form comes back as typed (secrets excepted: they are
write-only and never shown) with the use case's message above it, answered ``400``; a webhook
outside the caller's scope is "not found" (``404``). Webhooks need ``Permission.WEBHOOKS``.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pinbase.domain.errors import InvalidDefinition
from pinbase.domain.webhooks import WebhookSpec
from pinbase.http.console.access import done, form_text, in_range, notice_of, session_with
from pinbase.http.console.pages import error_page, signed_in_page
from pinbase.http.console.run_logs import RANGES, picked_range
from pinbase.http.console.webhook_form import (
    AUTH_KINDS,
    CONTENT_TYPES,
    METHODS,
    PLACEHOLDERS,
    TRIGGER_LABELS,
    TRIGGERS,
    WebhookState,
    add_row,
    blank_state,
    posted_state,
    state_of,
    webhook_data,
)
from pinbase.http.paths import CONSOLE_PATH
from pinbase.services.console_caller import ConsoleCaller, Permission
from pinbase.services.console_sessions import ConsoleSession
from pinbase.services.container import Services
from pinbase.services.reactions.webhook_json import parse_webhook_json, webhook_json
from pinbase.services.reactions.webhooks import (
    TooManyTests,
    WebhookLimitReached,
    WebhookNotFound,
    WebhookTestResult,
)
from pinbase.services.scope import DeviceNotFound, TemplateNotFound
from pinbase.settings import Settings
from pinbase.storage.webhooks import StoredWebhook

WEBHOOKS_PATH = f"{CONSOLE_PATH}/webhooks"
SECTION = "webhooks"
NOT_FOUND = "There is no such webhook, or you may not see it."
NOT_SAVED = "Nothing was saved: "
TABS = (("edit", "Settings"), ("info", "Information"), ("logs", "Logs"))
NOTICES = {
    "created": "The webhook was created.",
    "saved": "The webhook was saved.",
    "enabled": "The webhook is enabled.",
    "disabled": "The webhook is disabled: its triggers do not fire it.",
    "deleted": "The webhook was deleted.",
}
LOG_STATUS = {"OK": "OK", "WAITING": "Waiting", "FAILED": "Failed"}

Handler = Callable[[Request, ConsoleSession], Awaitable[Response]]
REFUSALS = (InvalidDefinition, DeviceNotFound, TemplateNotFound, WebhookLimitReached, TooManyTests)


def refusal_text(error: Exception) -> str:
    """What a person reads when the use case refuses a webhook or a test."""
    if isinstance(error, DeviceNotFound):
        return "the trigger's device is not found."
    if isinstance(error, TemplateNotFound):
        return "the trigger's template is not found."
    if isinstance(error, WebhookLimitReached):
        return f"the organization has {error.args[0]} webhooks, the most it may have."
    if isinstance(error, TooManyTests):
        return "wait 2 seconds between tests."
    return str(error) + "."


def webhook_routes(services: Services, settings: Settings) -> list[BaseRoute]:
    """``/dashboard/webhooks``: the list, the editor, test, enable/disable, delete, the log."""
    webhooks = services.webhooks
    directory = services.directory
    clock = services.clock

    def choices(caller: ConsoleCaller) -> dict[str, Any]:
        devices = services.console_devices.visible(caller)
        templates = directory.templates_in(caller.scope)
        return {
            "device_targets": [
                (f"{b.device.id}:{ds.id}", f"{b.device.name} · {ds.label} ({ds.pin.name.upper()})")
                for b in devices
                for ds in b.template.datastreams
            ],
            "template_targets": [
                (f"{t.id}:{ds.id}", f"{t.name} · {ds.label} ({ds.pin.name.upper()})")
                for t in templates
                for ds in t.datastreams
            ],
        }

    async def users(caller: ConsoleCaller) -> list[tuple[str, str]]:
        found, _ = await services.users.page(caller, include_sub_orgs=True, offset=0, limit=500)
        return [(str(u.id), f"{u.name} <{u.email}>") for u in found]

    def row(stored: StoredWebhook) -> dict[str, Any]:
        spec = stored.webhook.spec
        return {
            "id": stored.webhook.id,
            "name": spec.name,
            "enabled": spec.status.value == "ENABLED",
            "trigger": TRIGGER_LABELS.get(spec.trigger.kind.value, spec.trigger.kind.value),
            "last": stored.last_triggered_at or 0,
            "attempts": stored.attempts,
        }

    async def listing(
        request: Request,
        session: ConsoleSession,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        context = {
            "rows": [row(s) for s in await webhooks.list(session.caller)],
            "notice": notice_of(request, NOTICES),
            "result": result,
            "error": error,
        }
        return signed_in_page(session, "webhooks.html", context, section=SECTION, status=status)

    async def editor(
        request: Request,
        session: ConsoleSession,
        state: WebhookState,
        *,
        stored: StoredWebhook | None = None,
        tab: str = "edit",
        result: dict[str, Any] | None = None,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        caller = session.caller
        log: list[dict[str, Any]] = []
        picked, span = picked_range(request.query_params.get("range"))
        if stored is not None and tab == "logs":
            now = clock()
            entries = await webhooks.log(
                caller, stored.webhook.id, since=now - span, until=now + 1, limit=200
            )
            log = [
                {
                    "status": LOG_STATUS.get(e.status.value, e.status.value),
                    "code": e.code,
                    "reason": e.reason or "",
                    "ts": e.created_at,
                    "url": e.request_url,
                    "trigger": e.delivery_id,
                    "version": e.version,
                }
                for e in entries
            ]
        context = {
            "stored": stored,
            "info": webhook_json(stored) if stored is not None else None,
            "state": state,
            "tab": tab,
            "tabs": TABS,
            "result": result,
            "error": error,
            "notice": notice_of(request, NOTICES),
            "log": log,
            "ranges": RANGES,
            "range": picked,
            "triggers": TRIGGERS,
            "trigger_labels": TRIGGER_LABELS,
            "methods": METHODS,
            "content_types": CONTENT_TYPES,
            "auth_kinds": AUTH_KINDS,
            "placeholders": PLACEHOLDERS,
            "users": await users(caller),
            **choices(caller),
        }
        title = stored.webhook.spec.name if stored is not None else "New webhook"
        return signed_in_page(
            session, "webhook.html", {**context, "title": title}, section=SECTION, status=status
        )

    def gated(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            session = await session_with(request, Permission.WEBHOOKS)
            if not isinstance(session, ConsoleSession):
                return session
            return await handler(request, session)

        return endpoint

    async def find(request: Request, session: ConsoleSession) -> StoredWebhook | None:
        try:
            return await webhooks.get(session.caller, in_range(request.path_params["webhook_id"]))
        except WebhookNotFound:
            return None

    async def test(
        session: ConsoleSession, *, webhook_id: int | None, spec: WebhookSpec | None
    ) -> dict[str, Any]:
        answer: WebhookTestResult = await webhooks.test(
            session.caller,
            actor=str(session.caller.user_id),
            webhook_id=webhook_id,
            spec=spec,
        )
        return answer.to_json()

    async def page(request: Request, session: ConsoleSession) -> Response:
        return await listing(request, session)

    async def new(request: Request, session: ConsoleSession) -> Response:
        return await editor(request, session, blank_state())

    async def submitted(
        request: Request, session: ConsoleSession, stored: StoredWebhook | None
    ) -> Response:
        form = await request.form()
        state = posted_state(form)
        op = form_text(form, "op")
        if op.startswith("row-"):
            add_row(state, op.removeprefix("row-"))
            return await editor(request, session, state, stored=stored)
        webhook_id = stored.webhook.id if stored is not None else None
        status = stored.webhook.spec.status.value if stored is not None else "ENABLED"
        try:
            spec = parse_webhook_json(
                webhook_data(state, editing=stored is not None, status=status)
            )
            if op == "test":
                result = await test(session, webhook_id=webhook_id, spec=spec)
                return await editor(request, session, state, stored=stored, result=result)
            if stored is None:
                created = await webhooks.create(session.caller, spec)
                return done(f"{WEBHOOKS_PATH}/{created.id}", "created")
            await webhooks.update(session.caller, stored.webhook.id, spec)
        except REFUSALS as refused:
            prefix = "The test did not run: " if op == "test" else NOT_SAVED
            return await editor(
                request,
                session,
                state,
                stored=stored,
                error=prefix + refusal_text(refused),
                status=429 if isinstance(refused, TooManyTests) else 400,
            )
        except WebhookNotFound:
            return error_page(NOT_FOUND, 404)
        return done(f"{WEBHOOKS_PATH}/{stored.webhook.id}", "saved")

    async def create(request: Request, session: ConsoleSession) -> Response:
        return await submitted(request, session, None)

    async def show(request: Request, session: ConsoleSession) -> Response:
        stored = await find(request, session)
        if stored is None:
            return error_page(NOT_FOUND, 404)
        tab = request.query_params.get("tab", "edit")
        tab = tab if tab in dict(TABS) else "edit"
        return await editor(
            request, session, state_of(webhook_json(stored)), stored=stored, tab=tab
        )

    async def save(request: Request, session: ConsoleSession) -> Response:
        stored = await find(request, session)
        if stored is None:
            return error_page(NOT_FOUND, 404)
        return await submitted(request, session, stored)

    async def test_saved(request: Request, session: ConsoleSession) -> Response:
        stored = await find(request, session)
        if stored is None:
            return error_page(NOT_FOUND, 404)
        try:
            result = await test(session, webhook_id=stored.webhook.id, spec=None)
        except REFUSALS as refused:
            return await listing(
                request,
                session,
                error="The test did not run: " + refusal_text(refused),
                status=429 if isinstance(refused, TooManyTests) else 400,
            )
        except WebhookNotFound:
            return error_page(NOT_FOUND, 404)
        return await listing(request, session, result={**result, "name": stored.webhook.spec.name})

    def status_change(enable: bool) -> Handler:
        async def change(request: Request, session: ConsoleSession) -> Response:
            stored = await find(request, session)
            if stored is None:
                return error_page(NOT_FOUND, 404)
            try:
                if enable:
                    await webhooks.enable(session.caller, stored.webhook.id)
                else:
                    await webhooks.disable(session.caller, stored.webhook.id)
            except WebhookNotFound:
                return error_page(NOT_FOUND, 404)
            return done(WEBHOOKS_PATH, "enabled" if enable else "disabled")

        return change

    async def delete(request: Request, session: ConsoleSession) -> Response:
        stored = await find(request, session)
        if stored is None:
            return error_page(NOT_FOUND, 404)
        try:
            await webhooks.delete(session.caller, stored.webhook.id)
        except WebhookNotFound:
            return error_page(NOT_FOUND, 404)
        return done(WEBHOOKS_PATH, "deleted")

    one = f"{WEBHOOKS_PATH}/{{webhook_id:int}}"
    return [
        Route(WEBHOOKS_PATH, gated(page), methods=["GET"]),
        Route(WEBHOOKS_PATH, gated(create), methods=["POST"]),
        Route(f"{WEBHOOKS_PATH}/new", gated(new), methods=["GET"]),
        Route(one, gated(show), methods=["GET"]),
        Route(one, gated(save), methods=["POST"]),
        Route(f"{one}/test", gated(test_saved), methods=["POST"]),
        Route(f"{one}/enable", gated(status_change(True)), methods=["POST"]),
        Route(f"{one}/disable", gated(status_change(False)), methods=["POST"]),
        Route(f"{one}/delete", gated(delete), methods=["POST"]),
    ]
