"""Sans-IO protocol cores: bytes in, events out, ``send(event)`` returns bytes.

Rule: no sockets, no asyncio, no clocks (time arrives as an argument); imports only
``pinbase.domain`` and the standard library. ``device`` speaks the Blynk binary protocol,
``mqtt`` the Blynk MQTT device API; both raise the ``errors`` types and read through ``stream``.
"""
