"""Table definitions used by the queries of ``storage.sql``.

The migrations under ``storage/migrations`` create these tables; a test checks that a migrated
database matches this metadata, so the two cannot drift apart.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    UniqueConstraint,
    false,
    text,
    true,
)

from pinbase.storage.text_columns import NulFreeString, NulFreeText

metadata = MetaData()

organizations = Table(
    "organizations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", NulFreeString(100), nullable=False),
    Column("parent_id", Integer, ForeignKey("organizations.id"), nullable=True),
    Column("description", NulFreeText, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    # The profile of data-model.md §1.2; server defaults fill rows created before it existed.
    Column("type", NulFreeString(16), nullable=True),
    Column("tz", NulFreeString(64), nullable=True),
    Column("unit_system", NulFreeString(8), nullable=True),
    Column("phone_number", NulFreeString(32), nullable=True),
    Column("address", NulFreeText, nullable=True),
    Column("is_active", Boolean, nullable=False, server_default=true()),
    Column("last_modified_ts", BigInteger, nullable=False, server_default=text("0")),
    # Ids are never handed out twice (migration 0006); PostgreSQL sequences never are.
    sqlite_autoincrement=True,
)

oauth_clients = Table(
    "oauth_clients",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", Integer, ForeignKey("organizations.id"), nullable=False),
    Column("name", NulFreeString(100), nullable=False),
    Column("client_id", NulFreeString(64), nullable=False, unique=True),
    Column("secret_hash", NulFreeString(128), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # Ids are never handed out twice (migration 0006); PostgreSQL sequences never are.
    sqlite_autoincrement=True,
)

templates = Table(
    "templates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", Integer, ForeignKey("organizations.id"), nullable=False),
    Column("code", NulFreeString(32), nullable=False, unique=True),
    Column("name", NulFreeString(100), nullable=False),
    Column("description", NulFreeText, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    # The web dashboard layout (console.md §3.3) as JSON text; None: not designed (migration 0009).
    Column("dashboard", NulFreeText, nullable=True),
    # Seconds; 0: off (data-model.md §4.4, migration 0015).
    Column("offline_ignore_period", Integer, nullable=False, server_default=text("0")),
    # Ids are never handed out twice (migration 0006); PostgreSQL sequences never are.
    sqlite_autoincrement=True,
)

datastreams = Table(
    "datastreams",
    metadata,
    Column("template_id", Integer, ForeignKey("templates.id"), primary_key=True),
    Column("id", Integer, primary_key=True),
    Column("label", NulFreeString(50), nullable=False),
    Column("alias", NulFreeString(50), nullable=True),
    Column("pin_type", NulFreeString(8), nullable=False),
    Column("pin", Integer, nullable=False),
    Column("type", NulFreeString(8), nullable=False),
    Column("min", Float, nullable=True),
    Column("max", Float, nullable=True),
    Column("default_value", NulFreeText, nullable=True),
    Column("decimals", NulFreeString(8), nullable=True),
    Column("units", NulFreeString(50), nullable=True),
    Column("save_raw", Boolean, nullable=False),
    Column("sync_with_latest", Boolean, nullable=False),
    Column("enum_options", NulFreeText, nullable=True),
    Column("fallback_value", Integer, nullable=True),
    # The rest of data-model.md §1.7.1 the console edits (migration 0009).
    Column("color", NulFreeString(16), nullable=True),
    Column("invalidate_after", Integer, nullable=True),
    Column("invalidate_policy", NulFreeString(16), nullable=False, server_default="NOTHING"),
    Column("wait_confirmation", Integer, nullable=True),
    # How the datastream takes part in automations (automations.md §3.2), JSON; migration 0013.
    Column("automation", NulFreeText, nullable=True),
)

template_events = Table(
    "template_events",
    metadata,
    Column("template_id", Integer, ForeignKey("templates.id"), primary_key=True),
    Column("id", Integer, primary_key=True),
    Column("code", NulFreeString(50), nullable=False),
    Column("name", NulFreeString(50), nullable=False),
    Column("type", NulFreeString(16), nullable=False),
    Column("description", NulFreeText, nullable=True),
    # Notification settings (automations.md §1.2) as JSON text; None: off (migration 0011).
    Column("notifications", NulFreeText, nullable=True),
    Column("show_on_timeline", Boolean, nullable=False, server_default=true()),
    Column("send_to_notifications_tab", Boolean, nullable=False, server_default=true()),
)

metafields = Table(
    "metafields",
    metadata,
    Column("template_id", Integer, ForeignKey("templates.id"), primary_key=True),
    Column("id", Integer, primary_key=True),
    Column("name", NulFreeString(255), nullable=False),
    Column("type", NulFreeString(32), nullable=False),
    Column("default_value", NulFreeText, nullable=True),
)

devices = Table(
    "devices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", Integer, ForeignKey("organizations.id"), nullable=False),
    Column("template_id", Integer, ForeignKey("templates.id"), nullable=False),
    Column("name", NulFreeString(50), nullable=False),
    Column("token", NulFreeString(64), nullable=False, unique=True),
    Column("owner_user_id", Integer, nullable=True),
    Column("hardware_info", NulFreeText, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    # Ids of deleted devices are never reused (migration 0004); PostgreSQL sequences never are.
    sqlite_autoincrement=True,
)

metafield_values = Table(
    "metafield_values",
    metadata,
    Column("device_id", Integer, ForeignKey("devices.id"), primary_key=True),
    Column("metafield_id", Integer, primary_key=True),
    Column("value", NulFreeText, nullable=False),
)

current_values = Table(
    "current_values",
    metadata,
    # No foreign key, like history: the group-commit writer must never have one stale point
    # (a device deleted meanwhile) fail the whole group of other devices' values.
    Column("device_id", Integer, primary_key=True),
    Column("datastream_id", Integer, primary_key=True),
    Column("ts", BigInteger, nullable=False),
    Column("value", NulFreeText, nullable=False),
)

history = Table(
    "history",
    metadata,
    # 64-bit on PostgreSQL, the rowid alias on SQLite: history outgrows 2**31 rows.
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("device_id", Integer, nullable=False),
    Column("datastream_id", Integer, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("num", Float, nullable=True),
    Column("text", NulFreeText, nullable=True),
    Index("ix_history_series", "device_id", "datastream_id", "ts"),
)

history_minutes = Table(
    "history_minutes",
    metadata,
    # One row per series and UTC minute (``minute`` = its start in ms), folded from ``history``
    # in the same commit as the raw points (storage.point_writes, docs/storage.md). No foreign
    # key, like history.
    Column("device_id", Integer, primary_key=True),
    Column("datastream_id", Integer, primary_key=True),
    Column("minute", BigInteger, primary_key=True),
    Column("count", Integer, nullable=False),  # every point, text included (COUNT)
    Column("num_count", Integer, nullable=False),  # numeric points: the divisor of AVG
    Column("min", Float, nullable=True),
    Column("max", Float, nullable=True),
    Column("sum", Float, nullable=True),
    Column("last_ts", BigInteger, nullable=False),  # the newest point, and for text series
    Column("last_text", NulFreeText, nullable=True),  # its value: what a minute of text keeps
    # One B-tree keyed by the primary key instead of a row id table plus its key index: half
    # the pages each group commit writes, and a series' minutes lie side by side for reports.
    sqlite_with_rowid=False,
)

properties = Table(
    "properties",
    metadata,
    Column("device_id", Integer, ForeignKey("devices.id"), primary_key=True),
    Column("datastream_id", Integer, primary_key=True),
    Column("name", NulFreeString(64), primary_key=True),
    Column("value", NulFreeText, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

device_events = Table(
    "device_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("device_id", Integer, ForeignKey("devices.id"), nullable=False),
    Column("event_id", Integer, nullable=False),
    Column("code", NulFreeString(50), nullable=False),
    Column("type", NulFreeString(16), nullable=False),
    Column("description", NulFreeText, nullable=True),
    Column("ts", BigInteger, nullable=False),
    Column("is_resolved", Boolean, nullable=False, server_default=false()),
    Column("resolved_at", BigInteger, nullable=True),
    Column("resolved_comment", NulFreeText, nullable=True),
    # The event's "Show on timeline" when the occurrence was logged (automations.md §1.10):
    # editing the event later does not rewrite history (migration 0016).
    Column("visible_on_timeline", Boolean, nullable=False, server_default=true()),
    Index("ix_device_events_device_ts", "device_id", "ts"),
)

device_files = Table(
    "device_files",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("device_id", Integer, ForeignKey("devices.id"), nullable=False),
    Column("original_name", NulFreeString(255), nullable=False),
    Column("stored_name", NulFreeString(64), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    # Evicted files keep their row so the daily upload quota still counts them.
    Column("evicted_at", BigInteger, nullable=True),
    Index("ix_device_files_device", "device_id", "created_at"),
)

oauth_tokens = Table(
    "oauth_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # SHA-256 hex of the token; the token itself is never stored (services/oauth.py says why a
    # fast hash is right for 240-bit random tokens).
    Column("token_hash", NulFreeString(64), nullable=False, unique=True),
    Column("kind", NulFreeString(8), nullable=False),
    Column("client_id", NulFreeString(64), ForeignKey("oauth_clients.client_id"), nullable=False),
    Column("org_id", Integer, ForeignKey("organizations.id"), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked", Boolean, nullable=False),
    Index("ix_oauth_tokens_expires_at", "expires_at"),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", Integer, ForeignKey("organizations.id"), nullable=False),
    Column("name", NulFreeString(50), nullable=False),
    # Stored lower-cased: the password hash of data-model.md §1.3 uses the lower-cased address.
    Column("email", NulFreeString(255), nullable=False, unique=True),
    Column("title", NulFreeString(50), nullable=True),
    Column("nick_name", NulFreeString(50), nullable=True),
    Column("phone_number", NulFreeString(32), nullable=True),
    Column("role_id", Integer, nullable=False),
    Column("tz", NulFreeString(64), nullable=True),
    Column("locale", NulFreeString(16), nullable=True),
    Column("status", NulFreeString(16), nullable=False),
    Column("is_dev", Boolean, nullable=False),
    # argon2id of base64(SHA-256(password ‖ SHA-256(lower(email)))), the only form the API
    # accepts (§1.3), as a PHC string of ~97 characters (services.passwords, migration 0007).
    Column("password_hash", NulFreeString(255), nullable=True),
    Column("address", NulFreeText, nullable=True),
    Column("registered_at", BigInteger, nullable=False),
    Column("last_modified_ts", BigInteger, nullable=False),
    Column("last_logged_at", BigInteger, nullable=False),
    Index("ix_users_org", "org_id"),
    # Ids are never handed out twice (migration 0006); PostgreSQL sequences never are.
    sqlite_autoincrement=True,
)

console_sessions = Table(
    "console_sessions",
    metadata,
    # SHA-256 hex of the session cookie's 256 random bits; the token itself is never stored
    # (services/console_sessions.py).
    Column("token_hash", NulFreeString(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("csrf_token", NulFreeString(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("last_seen_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Index("ix_console_sessions_user", "user_id"),
    Index("ix_console_sessions_expires_at", "expires_at"),
)

invitations = Table(
    "invitations",
    metadata,
    # SHA-256 hex of the invitation link's random token; one link per user at a time.
    Column("token_hash", NulFreeString(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
)

tags = Table(
    "tags",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", Integer, ForeignKey("organizations.id"), nullable=False),
    Column("name", NulFreeString(50), nullable=False),
    Column("owner_user_id", Integer, ForeignKey("users.id"), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("org_id", "name", name="uq_tags_org_name"),
)

device_tags = Table(
    "device_tags",
    metadata,
    Column("device_id", Integer, ForeignKey("devices.id"), primary_key=True),
    Column("tag_id", Integer, ForeignKey("tags.id"), primary_key=True),
)

device_actions = Table(
    "device_actions",
    metadata,
    # The actions log of PLT-DEV-20: value writes and property changes made by people and APIs,
    # and commands sent to devices (``pin_type`` "command", ``property`` the command's kind).
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("device_id", Integer, ForeignKey("devices.id"), nullable=False),
    Column("trigger_user_email", NulFreeString(255), nullable=True),
    Column("pin_type", NulFreeString(8), nullable=False),
    Column("pin", Integer, nullable=False),
    Column("property", NulFreeString(64), nullable=True),
    Column("value", NulFreeText, nullable=False),
    Column("is_online", Boolean, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # Who wrote (migration 0016): ``WEB`` (a console user), ``HTTPS_API`` (an OAuth client) or
    # ``AUTOMATION`` (``trigger_name`` then holds the automation's name at the time).
    Column("client", NulFreeString(16), nullable=False, server_default="HTTPS_API"),
    Column("trigger_name", NulFreeString(100), nullable=True),
    Index("ix_device_actions_device_created", "device_id", "created_at"),
)

segments = Table(
    "segments",
    metadata,
    # A named, static set of devices of one organization (console.md Devices "Segments",
    # migration 0019); members in ``segment_devices``.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, ForeignKey("organizations.id"), nullable=False),
    Column("name", NulFreeString(40), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # A dynamic segment's saved filters (search text, status); ``query`` NULL: static.
    Column("query", NulFreeString(255), nullable=True),
    Column("status", NulFreeString(8), nullable=True),
    UniqueConstraint("org_id", "name", name="uq_segments_org_name"),
    sqlite_autoincrement=True,
)

segment_devices = Table(
    "segment_devices",
    metadata,
    Column("segment_id", Integer, ForeignKey("segments.id"), primary_key=True),
    Column("device_id", Integer, ForeignKey("devices.id"), primary_key=True),
    Index("ix_segment_devices_device", "device_id"),
)

push_subscriptions = Table(
    "push_subscriptions",
    metadata,
    # A browser that lets a console user receive Web Push notifications (automations.md §5.3,
    # migration 0012); ``p256dh`` and ``auth`` are the subscription's keys, base64url.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("endpoint", NulFreeString(1024), nullable=False),
    Column("p256dh", NulFreeString(128), nullable=False),
    Column("auth", NulFreeString(64), nullable=False),
    Column("user_agent", NulFreeString(255), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("last_success_at", BigInteger, nullable=True),
    UniqueConstraint("endpoint", name="uq_push_subscriptions_endpoint"),
    Index("ix_push_subscriptions_user", "user_id"),
    sqlite_autoincrement=True,
)

automations = Table(
    "automations",
    metadata,
    # Automations (automations.md §3): the editable model is kept as the spec §3.1 JSON text in
    # ``spec``; name and is_active are columns too, for PLT-ORG-07 and the engine's start.
    Column("id", Integer, primary_key=True),
    Column("org_id", Integer, ForeignKey("organizations.id"), nullable=False),
    Column("owner_id", Integer, nullable=True),
    Column("name", NulFreeString(100), nullable=False),
    Column("is_active", Boolean, nullable=False),
    Column("spec", NulFreeText, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("last_executed_at", BigInteger, nullable=True),
    # The engine's state, so a restart neither re-fires nor forgets (services.reactions):
    # the edge-trigger arming, the last run (Limit Period) and the last schedule or sun slot
    # handled (a slot is run or skipped exactly once).
    Column("armed", Boolean, nullable=False, server_default=true()),
    Column("last_fired_at", BigInteger, nullable=True),
    Column("last_slot_at", BigInteger, nullable=True),
    Index("ix_automations_org", "org_id"),
    sqlite_autoincrement=True,
)

automation_runs = Table(
    "automation_runs",
    metadata,
    # One row per run or skipped firing (spec §3.7); kept 90 days.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("automation_id", Integer, nullable=False),
    Column("org_id", Integer, nullable=False),
    Column("trigger_kind", NulFreeString(16), nullable=False),
    Column("trigger_device_id", Integer, nullable=True),
    Column("trigger_datastream_id", Integer, nullable=True),
    Column("trigger_value", NulFreeText, nullable=True),
    Column("started_at", BigInteger, nullable=False),
    Column("finished_at", BigInteger, nullable=True),
    Column("status", NulFreeString(16), nullable=False),
    Column("reason", NulFreeString(64), nullable=True),
    Index("ix_automation_runs_automation_started", "automation_id", "started_at"),
)

automation_action_log = Table(
    "automation_action_log",
    metadata,
    # One row per action of a run (spec §3.7): OK, FAILED or SKIPPED with the reason.
    Column("run_id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("type", NulFreeString(32), nullable=False),
    Column("device_id", Integer, nullable=True),
    Column("datastream_id", Integer, nullable=True),
    Column("value", NulFreeText, nullable=True),
    Column("status", NulFreeString(16), nullable=False),
    Column("reason", NulFreeText, nullable=True),
    Column("ts", BigInteger, nullable=False),
)

automation_continuations = Table(
    "automation_continuations",
    metadata,
    # What a run still has to do after a WAIT (spec §3.5): durable, so a restart resumes it.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("automation_id", Integer, nullable=False),
    Column("run_id", Integer, nullable=False),
    Column("step", Integer, nullable=False),
    Column("due_at", BigInteger, nullable=False),
    Column("context", NulFreeText, nullable=False),
    Index("ix_automation_continuations_due", "due_at"),
    Index("ix_automation_continuations_automation", "automation_id"),
)

automation_opt_outs = Table(
    "automation_opt_outs",
    metadata,
    # Devices switched out of an automation on their device page (automations.md §3.7).
    Column("automation_id", Integer, primary_key=True, autoincrement=False),
    Column("device_id", Integer, primary_key=True, autoincrement=False),
)

webhooks = Table(
    "webhooks",
    metadata,
    # Webhooks (automations.md §4, migration 0014). The trigger's scope has columns of its own so
    # the trigger index loads without parsing; the rest of the spec is JSON (storage.sql_webhooks),
    # secrets included: write-only in every answer, never in a log (§4.4).
    Column("id", Integer, primary_key=True),
    Column("org_id", Integer, ForeignKey("organizations.id"), nullable=False),
    Column("name", NulFreeString(80), nullable=False),
    Column("status", NulFreeString(16), nullable=False),
    Column("trigger_kind", NulFreeString(32), nullable=False),
    Column("trigger_template_id", Integer, nullable=True),
    Column("trigger_device_id", Integer, nullable=True),
    Column("trigger_datastream_id", Integer, nullable=True),
    Column("config", NulFreeText, nullable=False),
    Column("version", Integer, nullable=False),
    # Every HTTP attempt, real or test (webhooks.md's Attempts), and the consecutive failed
    # deliveries that decide the failure e-mail and auto-disable (§4.8).
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("failure_streak", Integer, nullable=False, server_default=text("0")),
    Column("last_triggered_at", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index("ix_webhooks_org", "org_id"),
    # Ids are never handed out twice (migration 0006); PostgreSQL sequences never are.
    sqlite_autoincrement=True,
)

webhook_log = Table(
    "webhook_log",
    metadata,
    # One row per real delivery (§4.9): WAITING while queued or retrying, then OK or FAILED; the
    # delivery id is the outbox id and the X-Pinbase-Delivery header. Kept 90 days (§5.6).
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("webhook_id", Integer, ForeignKey("webhooks.id"), nullable=False),
    Column("delivery_id", NulFreeString(64), nullable=False, unique=True),
    Column("version", Integer, nullable=False),
    Column("status", NulFreeString(16), nullable=False),
    Column("code", Integer, nullable=True),
    Column("reason", NulFreeString(32), nullable=True),
    Column("error", NulFreeText, nullable=True),
    Column("request_url", NulFreeText, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("finished_at", BigInteger, nullable=True),
    Column("content_type", NulFreeString(255), nullable=True),
    Column("retry_after", NulFreeString(64), nullable=True),
    Column("response_body", NulFreeText, nullable=True),
    Column("truncated", Boolean, nullable=False, server_default=false()),
    Index("ix_webhook_log_webhook_created", "webhook_id", "created_at"),
    Index("ix_webhook_log_created", "created_at"),
)

outbox = Table(
    "outbox",
    metadata,
    # The durable outbox of automations.md §5.1: one row per message to send, stored in the
    # transaction of its cause (domain/deliveries.py, services/reactions/outbox.py).
    Column("id", NulFreeString(32), primary_key=True),
    Column("kind", NulFreeString(32), nullable=False),
    Column("payload", NulFreeText, nullable=False),
    Column("dedupe_key", NulFreeString(255), nullable=False, unique=True),
    Column("state", NulFreeString(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("due_at", BigInteger, nullable=False),
    # When the dispatcher looks at the row next: its due time, its retry time, the end of its
    # lease while IN_FLIGHT; once final, when it ended (retention ages final rows by it).
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("lease_until", BigInteger, nullable=True),
    Column("last_error", NulFreeText, nullable=True),
    Column("source", NulFreeString(32), nullable=False),
    Column("source_ref", NulFreeString(255), nullable=True),
    # No foreign key: a delivery outlives nothing it names, and must not block deleting them.
    Column("org_id", Integer, nullable=True),
    Index("ix_outbox_due", "kind", "state", "next_attempt_at"),
    Index("ix_outbox_source", "source_ref"),
)

# Notifications (automations.md §2, §5.4; migration 0011). No foreign keys: device and
# organization ids are never reused (migration 0006), and the log outlives what it names for its
# 30 days of retention.
notification_log = Table(
    "notification_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", BigInteger, nullable=False),
    Column("org_id", Integer, nullable=False),
    Column("device_id", Integer, nullable=True),
    Column("source", NulFreeString(16), nullable=False),
    Column("source_ref", NulFreeString(255), nullable=True),
    Column("channel", NulFreeString(8), nullable=False),
    # A masked e-mail address or ``user:<id>``; the user id again for a user's inbox.
    Column("recipient", NulFreeString(255), nullable=True),
    Column("user_id", Integer, nullable=True),
    Column("status", NulFreeString(16), nullable=False),
    Column("reason", NulFreeString(32), nullable=True),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", NulFreeText, nullable=True),
    Column("outbox_id", NulFreeString(32), nullable=True),
    Column("title", NulFreeText, nullable=True),
    Column("body", NulFreeText, nullable=True),
    Index("ix_notification_log_org", "org_id", "id"),
    Index("ix_notification_log_device", "device_id", "id"),
    Index("ix_notification_log_user", "user_id", "id"),
    Index("ix_notification_log_outbox", "outbox_id"),
    Index("ix_notification_log_created", "created_at"),
)

notification_limits = Table(
    "notification_limits",
    metadata,
    Column("device_id", Integer, primary_key=True),
    Column("event_id", Integer, primary_key=True),
    # The limits the state was counted under; an edit changes it, which resets the state.
    Column("limits_key", NulFreeString(32), nullable=False),
    Column("count", Integer, nullable=False),
    Column("period_started_at", BigInteger, nullable=True),
)

notification_last_message = Table(
    "notification_last_message",
    metadata,
    Column("device_id", Integer, primary_key=True),
    Column("channel", NulFreeString(8), primary_key=True),
    Column("ts", BigInteger, nullable=False),
)

notification_quota = Table(
    "notification_quota",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Index("ix_notification_quota_org_ts", "org_id", "ts"),
)

device_event_notifications = Table(
    "device_event_notifications",
    metadata,
    # End-user notification management per (device, event) (automations.md §1.5, migration
    # 0016): the channels' user-chosen recipients as JSON text, and the mute's end (ms).
    Column("device_id", Integer, ForeignKey("devices.id"), primary_key=True),
    Column("event_id", Integer, primary_key=True),
    Column("channels", NulFreeText, nullable=False),
    Column("muted_until", BigInteger, nullable=True),
    Column("updated_at", BigInteger, nullable=False),
)

device_status = Table(
    "device_status",
    metadata,
    # The last presence the lifecycle notifications saw, kept across restarts: a device that was
    # online when the server stopped reconnects without an Online notification, and the first
    # connection ever is known (``firstConnectTime``).
    Column("device_id", Integer, primary_key=True),
    Column("online", Boolean, nullable=False),
    Column("changed_at", BigInteger, nullable=False),
    Column("first_connected_at", BigInteger, nullable=False),
)

firmware_files = Table(
    "firmware_files",
    metadata,
    # Blynk.Air firmware store (device-lifecycle.md §1.7, migration 0018): the bytes live in the
    # data folder under ``firmware/<id>``; ``tag`` is the ``blnkinf`` pairs as JSON, or NULL.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, ForeignKey("organizations.id"), nullable=False),
    Column("filename", NulFreeString(255), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("md5", NulFreeString(32), nullable=False),
    Column("sha256", NulFreeString(44), nullable=False),
    Column("tag", NulFreeText, nullable=True),
    Column("uploaded_at", BigInteger, nullable=False),
    sqlite_autoincrement=True,
)

shipments = Table(
    "shipments",
    metadata,
    # Blynk.Air shipments (§1.6): ``device_ids`` is a JSON list for the "devices" target.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, ForeignKey("organizations.id"), nullable=False),
    Column("name", NulFreeString(40), nullable=False),
    Column("template_id", Integer, nullable=False),
    Column("firmware_id", Integer, ForeignKey("firmware_files.id"), nullable=False),
    Column("state", NulFreeString(16), nullable=False),
    Column("target", NulFreeString(16), nullable=False),
    Column("device_ids", NulFreeText, nullable=False),
    Column("tag_id", Integer, nullable=True),
    Column("condition", NulFreeString(16), nullable=False),
    Column("preferred_time", NulFreeString(16), nullable=False),
    Column("attempts_limit", Integer, nullable=False),
    Column("attempts_reset_s", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("started_at", BigInteger, nullable=True),
    UniqueConstraint("org_id", "name", name="uq_shipments_org_name"),
    sqlite_autoincrement=True,
)

shipment_devices = Table(
    "shipment_devices",
    metadata,
    # Each device's status in a shipment (§1.6, §1.7 Transitions) and its download token.
    Column("shipment_id", Integer, ForeignKey("shipments.id"), primary_key=True),
    Column("device_id", Integer, ForeignKey("devices.id"), primary_key=True),
    Column("status", NulFreeString(32), nullable=False),
    Column("reason", NulFreeText, nullable=True),
    Column("download_token", NulFreeString(32), nullable=True, unique=True),
    Column("attempts", Integer, nullable=False),
    Column("attempts_since", BigInteger, nullable=True),
    Column("sent_at", BigInteger, nullable=True),
    Column("updated_at", BigInteger, nullable=False),
    Column("from_version", NulFreeString(64), nullable=True),
    Column("from_build", NulFreeString(64), nullable=True),
)

legacy_imports = Table(
    "legacy_imports",
    metadata,
    # The import trace of `pinbase import-legacy` (migration 0017, legacy-import.md §5.2): what
    # each legacy user, dashboard and device became. No foreign keys: the trace outlives a
    # device deleted later, so a rerun does not recreate it.
    Column("kind", NulFreeString(16), primary_key=True),
    Column("legacy_key", NulFreeString(400), primary_key=True),
    Column("pinbase_id", Integer, nullable=False),
    Column("org_id", Integer, nullable=False),
    Column("imported_at", BigInteger, nullable=False),
)
