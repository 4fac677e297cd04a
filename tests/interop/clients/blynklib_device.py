"""PyPI ``blynklib`` 0.2.6 as a device, driven by the interop tests (device-protocols.md §4.1).

Commands arrive on stdin as JSON lines; every event the library reports is printed on stdout as
one JSON line. The library's own chatter goes to stderr.
"""

import argparse

import blynklib
from device_io import Commands, emit, log

PINS = range(33)
"""blynklib's ``write V*`` wildcard covers pins 0..32 only (§3.2 quirk 7)."""


def main() -> None:
    """Connect, report events, run commands until told to exit."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--token", required=True)
    parser.add_argument("--server", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--heartbeat", type=int, default=10)
    parser.add_argument("--ssl-cert")
    parser.add_argument("--connect-timeout", type=float, default=5)
    args = parser.parse_args()

    blynk = blynklib.Blynk(
        args.token,
        server=args.server,
        port=args.port,
        heartbeat=args.heartbeat,
        ssl_cert=args.ssl_cert,
        log=log,
    )

    for pin in PINS:

        @blynk.handle_event(f"write V{pin}")
        def on_write(pin: int, values: list[str]) -> None:
            emit("write", pin=pin, values=values)

    for name in ("dbg", "ota"):

        @blynk.handle_event(f"internal_{name}")
        def on_internal(args: list[str], name: str = name) -> None:
            emit("internal", name=name, args=args)

    @blynk.handle_event("connect")
    def on_connect() -> None:
        emit("connected")

    @blynk.handle_event("disconnect")
    def on_disconnect() -> None:
        emit("disconnected")

    if not blynk.connect(timeout=args.connect_timeout):
        emit("connect_failed")
        return
    commands = Commands()
    while True:
        blynk.run()
        for command in commands.pending():
            op = command["op"]
            if op == "exit":
                return
            if op == "write":
                blynk.virtual_write(command["pin"], *command["values"])
            elif op == "sync":
                blynk.virtual_sync(*command["pins"])
            elif op == "property":
                blynk.set_property(command["pin"], command["name"], *command["values"])
            elif op == "notify":
                blynk.notify(command["text"])
            elif op == "internal":
                blynk.internal(*command["args"])
            emit("done", op=op)


if __name__ == "__main__":
    main()
