"""A dependency-free progress bar for long loops (training, batch grading, problem sets).

    for item in progress(items, desc="grading"):
        ...

It draws on stderr, redraws at most ten times a second, and stays silent when
stderr is not a terminal unless `force=True` (so logs and CI output stay clean,
apart from one final summary line).
"""
from __future__ import annotations

import sys
import time
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")


class Progress:
    """Manual progress bar: call `update(n)` and `set_postfix(text)`, then `close()`."""

    def __init__(self, total: int | None, desc: str = "", width: int = 28,
                 stream=None, force: bool | None = None):
        self.total, self.desc, self.width = total, desc, width
        self.stream = stream if stream is not None else sys.stderr
        live = getattr(self.stream, "isatty", lambda: False)()
        self.live = live if force is None else force
        self.n, self.postfix = 0, ""
        self.start = self._last = time.perf_counter()
        self.closed = False

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.perf_counter()
        if self.live and (now - self._last >= 0.1 or self.n == self.total):
            self._last = now
            self._draw(end="")

    def set_postfix(self, text: str) -> None:
        self.postfix = text

    def refresh(self) -> None:
        """Draw the bar now, e.g. at 0/N before the first item is done."""
        if self.live and not self.closed:
            self._last = time.perf_counter()
            self._draw(end="")

    def _line(self) -> str:
        elapsed = time.perf_counter() - self.start
        if self.total:
            frac = min(1.0, self.n / self.total)
            filled = int(round(frac * self.width))
            bar = "#" * filled + "-" * (self.width - filled)
            eta = elapsed / frac - elapsed if frac > 0 else 0.0
            core = f"[{bar}] {self.n}/{self.total} {elapsed:5.1f}s<{eta:5.1f}s"
        else:
            core = f"{self.n} {elapsed:5.1f}s"
        head = f"{self.desc}: " if self.desc else ""
        tail = f" {self.postfix}" if self.postfix else ""
        return head + core + tail

    def _draw(self, end: str) -> None:
        self.stream.write("\r" + self._line() + "\x1b[K" + end)
        self.stream.flush()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.live:
            self._draw(end="\n")
        else:
            self.stream.write(self._line() + "\n")
            self.stream.flush()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress(items: Iterable[T], desc: str = "", total: int | None = None,
             **kwargs) -> Iterator[T]:
    """Iterate over `items` while drawing a progress bar."""
    if total is None:
        total = len(items) if hasattr(items, "__len__") else None
    with Progress(total, desc, **kwargs) as bar:
        for item in items:
            yield item
            bar.update()
