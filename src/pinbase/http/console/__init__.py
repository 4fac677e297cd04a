"""The web console (``/dashboard``): server-rendered pages, their static files and the live
WebSocket; an adapter over ``services`` like every other HTTP family."""
