"""The legacy Blynk 1.0 API, ``/{token}/{action}[/{pin}]`` with the device token in the path (§5).

Rule: errors are plain text (``text/plain;charset=utf-8``), never the JSON error object of the
other families, and every answer carries ``Access-Control-Allow-Origin: *``. Values go through
the same services as the device API; only the wire format differs.
"""
