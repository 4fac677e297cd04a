"""Domain values and rules: organizations, templates, datastreams, devices and values.

Rule: pure Python only. No asyncio, no I/O, no framework imports (enforced by import-linter).
Every value is a frozen dataclass that validates itself; a change returns a new value.
"""
