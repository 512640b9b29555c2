"""The ``arena`` command line: the top floor, which nothing else imports."""

from ._main import main as main

__all__ = ["main"]
