"""Things that react (issue #10): automations, notifications, webhooks and the outbox that
delivers them. Nothing here runs inside a device's write: subscribers queue bus messages and
their own tasks do the work."""
