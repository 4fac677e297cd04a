"""The Python shapes a stored value takes, shared by datastreams, values and points."""

Location = tuple[float, float]
"""A location as (longitude, latitude): longitude first everywhere (http-api.md OP-30)."""

Value = int | float | str | bool | Location
"""INT and ENUM are int, DOUBLE float, STRING str, BOOL bool, LOCATION a Location."""
