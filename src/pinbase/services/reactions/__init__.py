"""Things that react to what devices and people do: notifications, automations, webhooks, and
the durable outbox that delivers their messages (issue #10). Nothing here runs inside a device's
write: the write path asks ``triggers`` for deliveries (a dict lookup) and commits them with it."""
