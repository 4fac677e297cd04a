"""PyPI ``paho-mqtt`` 2.x as a Blynk MQTT device, driven by the interop tests
(device-protocols.md §2, §4.1 item 6).

Connects with username ``device`` and the token as password, client id ``""``, clean session
(over TLS with ``--ca-cert``, over WebSocket with ``--websocket /mqtt``), and subscribes to
``downlink/#`` once connected. Commands arrive on stdin as JSON lines; every event is printed as
one JSON line (payloads as text, NUL kept as ``\\u0000``).
"""

import argparse

import paho.mqtt.client as mqtt
from device_io import Commands, emit, log
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

RUN_SECONDS = 0.05
"""How long each loop turn waits for network traffic before looking at stdin."""


def main() -> None:
    """Connect, report events, run commands until told to exit."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--token", required=True)
    parser.add_argument("--server", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--heartbeat", type=int, default=45, help="the keep-alive")
    parser.add_argument("--mqtt5", action="store_true")
    parser.add_argument("--will-topic")
    parser.add_argument("--will-payload", default="")
    parser.add_argument("--ca-cert", help="speak TLS, trusting this PEM certificate")
    parser.add_argument("--websocket", metavar="PATH", help="MQTT over WebSocket at this path")
    args = parser.parse_args()

    protocol = mqtt.MQTTv5 if args.mqtt5 else mqtt.MQTTv311
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id="",
        protocol=protocol,
        clean_session=None if args.mqtt5 else True,  # MQTT 5 has clean start instead
        transport="websockets" if args.websocket else "tcp",
    )
    if args.websocket:
        client.ws_set_options(path=args.websocket)
    client.username_pw_set("device", args.token)
    client.enable_logger()
    if args.ca_cert:
        client.tls_set(ca_certs=args.ca_cert)
    if args.will_topic:
        client.will_set(args.will_topic, args.will_payload)

    def on_connect(
        client: mqtt.Client, _: object, flags: object, code: ReasonCode, props: object
    ) -> None:
        if code.is_failure:
            emit("connect_failed", code=code.value, reason=str(code))
            return
        emit("connected")
        client.subscribe("downlink/#", qos=0)

    def on_subscribe(
        client: mqtt.Client, _: object, mid: int, codes: list[ReasonCode], props: object
    ) -> None:
        emit("subscribed", codes=[code.value for code in codes])

    def on_message(client: mqtt.Client, _: object, message: mqtt.MQTTMessage) -> None:
        emit("message", topic=message.topic, payload=message.payload.decode(), qos=message.qos)

    def on_disconnect(
        client: mqtt.Client, _: object, flags: object, code: ReasonCode, props: Properties | None
    ) -> None:
        emit("disconnected", code=code.value)

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.on_disconnect = on_disconnect
    client.connect(args.server, args.port, keepalive=args.heartbeat)
    commands = Commands()
    while True:
        client.loop(timeout=RUN_SECONDS)
        for command in commands.pending():
            op = command["op"]
            if op == "exit":
                return
            if op == "publish":
                payload = command.get("payload", "")
                info = client.publish(command["topic"], payload, qos=command.get("qos", 0))
                log("published", command["topic"], info.rc)
            elif op == "disconnect":
                client.disconnect()
            emit("done", op=op)


if __name__ == "__main__":
    main()
