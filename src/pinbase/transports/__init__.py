"""Transports: asyncio only. They own sockets, TLS, timeouts, backpressure and closing.

Rule: a transport never parses. It feeds received bytes to a sans-IO core (``pinbase.protocols``),
hands the events to services (``pinbase.services``) and writes what the core's ``send`` returns,
one frame per write. Timers, write queues and connection limits live here and nowhere else.
"""
