"""Run the command line interface: ``python -m pinbase``."""

from pinbase.cli import main

main()
