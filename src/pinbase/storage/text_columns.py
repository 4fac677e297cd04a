"""Column types for text: the one place where NUL is kept out of every text column.

PostgreSQL ``text`` cannot hold NUL (U+0000): the driver refuses a parameter holding it, even in
a ``WHERE``. SQLite stores it. So that both engines answer alike, every ``String`` and ``Text``
column of ``schema`` is one of the types below, and a parameter bound for one of them is checked
once, here, instead of at each query:

* a value written into a column (``INSERT``, ``UPDATE``) holding NUL raises ``TextHoldsNul``;
  the HTTP layer answers it as a refused input, never a server error;
* a value compared with a column (``=``, ``IN``, ``LIKE``) holding NUL binds as SQL ``NULL``,
  which matches no row: no stored text holds NUL, so a lookup by such a value finds nothing.

History text (multi-value strings are NUL-joined) is escaped before it gets here
(``codec.escape_text``), and JSON text spells NUL as ``\\u0000``.
"""

from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.operators import OperatorType
from sqlalchemy.types import TypeDecorator, TypeEngine

from pinbase.domain.errors import TextHoldsNul


class _ComparedText(TypeDecorator[str]):
    """A parameter compared with a text column: text holding NUL becomes ``NULL``."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        """``value``, or None (matching nothing) when it holds NUL."""
        return None if value is not None and "\0" in value else value


_COMPARED = _ComparedText()


class NulFreeString(TypeDecorator[str]):
    """``String(length)`` that refuses NUL in what is written and finds nothing by it."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        """``value`` unchanged.

        Raises:
            TextHoldsNul: the value holds NUL.
        """
        if value is not None and "\0" in value:
            raise TextHoldsNul
        return value

    def coerce_compared_value(self, op: OperatorType | None, value: Any) -> TypeEngine[Any]:
        """Compared text binds as ``_ComparedText``; anything else as SQLAlchemy would."""
        if isinstance(value, str):
            return _COMPARED
        coerced: TypeEngine[Any] = super().coerce_compared_value(op, value)
        return coerced


class NulFreeText(NulFreeString):
    """``Text`` that refuses NUL in what is written and finds nothing by it."""

    impl = Text
    cache_ok = True
