"""HTTP adapters: parse the request, call one service, shape the answer in the API's own format.

Rule: no business rules and no SQL here. Each API family (device, legacy, later the Platform API)
is its own router with its own authentication and error format.
"""
