"""The Device HTTPS API, ``/external/api/...`` with the device token in the query (http-api.md §2).

Plain Starlette routes: this is the hot path, so no validation framework sits between the socket
and the handler.
"""
