"""PyPI ``blynk-library-python`` 0.2.0 (module ``BlynkLib``) as a device for the interop tests.

Commands arrive on stdin as JSON lines; every event the library reports is printed on stdout as
one JSON line. The library prints its banner and errors on stdout too; the tests skip lines that
are not JSON. 0.2.0 never reconnects on its own (§3.3 quirk 4), so the script ends when the
library reports ``disconnected`` or a send fails on a dead socket.
"""

import argparse

import BlynkLib
from device_io import Commands, emit, log


def main() -> None:
    """Connect, report events, run commands until told to exit or disconnected."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--token", required=True)
    parser.add_argument("--server", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--heartbeat", type=int, default=10)
    args = parser.parse_args()

    state = {"connected": True}
    blynk = BlynkLib.Blynk(
        args.token, server=args.server, port=args.port, heartbeat=args.heartbeat, log=log
    )

    def on_write(pin: str, values: list[str]) -> None:
        emit("write", pin=int(pin), values=values)

    def on_connected(ping: int = 0) -> None:
        emit("connected")

    def on_disconnected() -> None:
        state["connected"] = False
        emit("disconnected")

    blynk.on("V*", on_write)
    blynk.on("connected", on_connected)
    blynk.on("disconnected", on_disconnected)
    commands = Commands()
    while state["connected"]:
        try:
            blynk.run()
            for command in commands.pending():
                op = command["op"]
                if op == "exit":
                    return
                if op == "write":
                    blynk.virtual_write(command["pin"], *command["values"])
                elif op == "sync":
                    blynk.sync_virtual(*command["pins"])
                elif op == "property":
                    blynk.set_property(command["pin"], command["name"], *command["values"])
                elif op == "log_event":
                    blynk.log_event(command["code"], command.get("description"))
                elif op == "notify":
                    blynk.notify(command["text"])
                emit("done", op=op)
        except OSError as error:  # a send on a socket the server closed (§3.3 quirk 4)
            emit("error", error=type(error).__name__)
            return


if __name__ == "__main__":
    main()
