"""Storage: durable state behind the repository contract of ``storage.base``.

Rule: SQL lives here and nowhere else; this package imports ``domain`` only, never services.
One SQLAlchemy implementation serves SQLite (embedded default) and PostgreSQL.
"""
