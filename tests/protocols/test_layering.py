"""The protocols layer stays sans-IO: stdlib and pinbase.domain only, and a guarded surface."""

import ast
import sys
from pathlib import Path

import pinbase.protocols
import pinbase.protocols.device as device

ROOT = Path(pinbase.protocols.__file__).parent
ALLOWED = ("pinbase.domain", "pinbase.protocols")
FORBIDDEN_STDLIB = {"asyncio", "socket", "ssl", "selectors", "threading", "time", "logging"}


def imported_modules(path: Path) -> set[str]:
    """Every absolute module name ``path`` imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_protocols_import_only_the_standard_library_and_the_domain() -> None:
    """No framework, no I/O module, no other pinbase layer (README.md of the package)."""
    for path in ROOT.rglob("*.py"):
        for name in imported_modules(path):
            top = name.partition(".")[0]
            if name.startswith(ALLOWED):
                continue
            assert top in sys.stdlib_module_names, f"{path.name} imports {name}"
            assert top not in FORBIDDEN_STDLIB, f"{path.name} imports {name}"


def test_device_package_surface() -> None:
    """The device package exports exactly its documented names, each importable."""
    assert all(hasattr(device, name) for name in device.__all__)
    assert set(device.__all__) == {
        "NEED_DATA",
        "BridgeInit",
        "BridgeWrite",
        "BridgeWriteOut",
        "ClientLibrary",
        "Command",
        "ConnectionClosed",
        "DebugPrint",
        "DeviceConnection",
        "DeviceInfo",
        "Email",
        "Event",
        "GroupBegin",
        "GroupEnd",
        "HardwareRead",
        "HardwareReadOut",
        "HardwareWrite",
        "HardwareWriteOut",
        "Internal",
        "InternalPush",
        "LocalProtocolError",
        "LogEvent",
        "Login",
        "Message",
        "MetadataGet",
        "MetadataReply",
        "MetadataSet",
        "Notify",
        "Outbound",
        "Ping",
        "ProtocolError",
        "Redirect",
        "Rejected",
        "ResolveEvent",
        "Response",
        "RtcReply",
        "RtcSync",
        "Sentinel",
        "ServerPing",
        "SetProperty",
        "Sms",
        "State",
        "Status",
        "Sync",
        "Tweet",
        "Undeliverable",
        "UtcReply",
        "UtcRequest",
    }
