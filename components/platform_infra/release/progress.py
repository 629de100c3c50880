"""Progress output of the release flow: one line per event in CI, a redrawn status line on a terminal."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TextIO


class Reporter:
    """Prints what the release does.

    :meth:`say` prints a line that stays. :meth:`status` prints what a wait is waiting for (elapsed and
    remaining time, the last probe's result): on a terminal it redraws one status line in place, elsewhere
    (CI logs, tests) it prints a plain line, so a log shows every probe.

    :param echo: prints one line (plain mode).
    :param stream: the terminal for the redrawn status line; None for plain lines only.
    """

    def __init__(self, echo: Callable[[str], None] = print, stream: TextIO | None = None) -> None:
        self.echo = echo
        self.stream = stream
        self._open = False

    @classmethod
    def for_console(cls) -> Reporter:
        """A status line on an interactive terminal, plain lines in CI (``CI`` set) or when piped."""
        interactive = sys.stdout.isatty() and not os.environ.get("CI") and os.environ.get("TERM") != "dumb"
        return cls(lambda line: print(line, flush=True), sys.stdout if interactive else None)

    def say(self, line: str) -> None:
        """A line that stays."""
        if self._open and self.stream is not None:
            self.stream.write("\n")
            self._open = False
        self.echo(line)

    def status(self, line: str) -> None:
        """A progress line: redrawn in place on a terminal, printed in plain mode."""
        if self.stream is None:
            self.echo(line)
            return
        width = 200
        self.stream.write("\r\x1b[2K" + line[:width])
        self.stream.flush()
        self._open = True

    def done(self) -> None:
        """Ends an open status line."""
        if self._open and self.stream is not None:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False
