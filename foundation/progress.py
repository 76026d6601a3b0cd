"""Progress bars on stderr, no dependency.

On a terminal the bars are redrawn in place (at most every ``min_interval_s``); anywhere else
(a pipe, a CI log) one plain line with every bar is written every ``log_interval_s``, so logs
stay readable. Counters can be updated from any thread.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

BAR_WIDTH = 28


def format_bar(label: str, value: int, total: int | None, elapsed_s: float, *, width: int = BAR_WIDTH) -> str:
    """One bar as text: ``label [#####.....] 50/100  12/s``; without a total, no bar."""
    rate = value / elapsed_s if elapsed_s > 0 else 0.0
    if total:
        filled = min(width, int(width * value / total))
        bar = "#" * filled + "." * (width - filled)
        return f"{label:<12} [{bar}] {value:>8}/{total:<8} {rate:8.0f}/s"
    return f"{label:<12} {value:>8} {rate:8.0f}/s"


class Bar:
    """One counter with an optional total. Use through :class:`Progress`."""

    def __init__(self, owner: Progress, label: str, total: int | None, created: float) -> None:
        self._owner = owner
        self.created = created
        self.label = label
        self.total = total
        self.value = 0

    def update(self, n: int = 1) -> None:
        with self._owner.lock:
            self.value += n
        self._owner.render()

    def set(self, value: int, total: int | None = None) -> None:
        with self._owner.lock:
            self.value = value
            if total is not None:
                self.total = total
        self._owner.render()


class Progress:
    """A set of bars drawn together on ``stream``."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        enabled: bool = True,
        interactive: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        min_interval_s: float = 0.2,
        log_interval_s: float = 10.0,
    ) -> None:
        self._stream = sys.stderr if stream is None else stream
        self._enabled = enabled
        if interactive is None:
            isatty = getattr(self._stream, "isatty", None)
            interactive = bool(isatty and isatty())
        self._interactive = interactive
        self._clock = clock
        self._interval = min_interval_s if interactive else log_interval_s
        self._last_draw: float | None = None
        self._drawn_lines = 0
        self._bars: list[Bar] = []
        self.lock = threading.RLock()

    def bar(self, label: str, total: int | None = None) -> Bar:
        with self.lock:
            bar = Bar(self, label, total, self._clock())
            self._bars.append(bar)
            return bar

    def lines(self) -> list[str]:
        """One line per bar; each bar's rate counts from when the bar was made."""
        now = self._clock()
        with self.lock:
            return [format_bar(b.label, b.value, b.total, now - b.created) for b in self._bars]

    def render(self, *, force: bool = False) -> None:
        if not self._enabled:
            return
        now = self._clock()
        with self.lock:
            if not force and self._last_draw is not None and now - self._last_draw < self._interval:
                return
            self._last_draw = now
            lines = self.lines()
            if self._interactive:
                up = f"\x1b[{self._drawn_lines}F" if self._drawn_lines else ""
                self._stream.write(up + "".join(f"\x1b[2K{line}\n" for line in lines))
                self._drawn_lines = len(lines)
            else:
                self._stream.write(" | ".join(" ".join(line.split()) for line in lines) + "\n")
            self._stream.flush()

    def close(self) -> None:
        """Draw the final state once more."""
        self.render(force=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
