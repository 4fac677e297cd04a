"""Services: the use cases (record values, provision, log events) over storage and the bus.

Rule: services take their store, bus and clock as arguments; they never touch HTTP or sockets.
They import ``domain`` and ``storage.base`` (plus the SQL store only where wiring asks for it).
"""
