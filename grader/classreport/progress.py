"""Progress bars of the report's long steps (tt.progress.Progress), or none at all.

A Progress that is not drawn live still prints one summary line when closed; --quiet (and
the tests) want nothing, so show_progress=False gives a bar that draws nothing.
"""
from __future__ import annotations

from tt.progress import Progress


class _Silent:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, text: str) -> None:
        pass

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        pass


def bar_for(total: int, desc: str, show_progress: bool = True):
    """A Progress from 0/total on stderr (drawn live on a terminal), or a silent one."""
    if not show_progress:
        return _Silent()
    bar = Progress(total, desc=desc)
    bar.refresh()
    return bar


def pool_worker_init() -> None:
    """In a forked worker: the default SIGTERM (the pool's terminate() ends it quietly, even
    when the parent, such as tt grade-all, turned SIGTERM into KeyboardInterrupt), and
    Ctrl-C left to the parent."""
    import signal
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
