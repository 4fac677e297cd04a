"""Options that several commands share, declared once so their names and help stay the same."""

from pathlib import Path
from typing import Annotated

import typer

DataOption = Annotated[Path, typer.Option("--data", help="Data folder (SQLite file, uploads).")]
DatabaseOption = Annotated[
    str | None,
    typer.Option("--database-url", help="postgresql+asyncpg://… instead of embedded SQLite."),
]
ConfigOption = Annotated[Path | None, typer.Option("--config", help="A TOML settings file.")]
