"""`tt problems generate --pdf`: each student's HTML set printed to problem_set.pdf by a
headless Chromium (its formulas are MathML, which Chromium draws natively).

Chromium (or Google Chrome) is looked up on PATH and started once per worker, with a
fresh temporary profile and the network cut off (every host name resolves to nothing;
the sets need none); it is driven over its DevTools pipe (Page.printToPDF), so each set
costs a page load and a print rather than a browser start-up. Each PDF is checked to be
one and written atomically (tt.io.atomic_write_bytes), so an interrupted run leaves
whole files. A set is printed again when its PDF is missing or older than its HTML (or with
--force). One set that fails to print does not stop the others: the failures are
returned, each with what went wrong, and the browser is started afresh after one.
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tt.io import atomic_write_bytes

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--host-resolver-rules=MAP * ~NOTFOUND")
# (not --no-pdf-header-footer: with the DevTools pipe, Chromium 156's renderer crashes on it;
# Page.printToPDF has displayHeaderFooter=False instead)
PRINT_TIMEOUT = 120.0
NO_BROWSER = ("--pdf prints each set's HTML with a headless Chromium, and none was found on PATH "
              "(looked for: " + ", ".join(BROWSERS) + "). Install one (Debian/Ubuntu: "
              "apt-get install chromium), or leave out --pdf: problem_set.html prints from any "
              "browser (File > Print), formulas included.")


class PrintError(RuntimeError):
    pass


def find_browser() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


_EXEC_ON_3_AND_4 = ("import os, sys; a, b = int(sys.argv[1]), int(sys.argv[2]); "
                    "os.dup2(a, 3); os.dup2(b, 4); os.close(a); os.close(b); "
                    "os.execv(sys.argv[3], sys.argv[3:])")


class _Browser:
    """One headless Chromium, driven over its DevTools pipe (fd 3 in, fd 4 out; messages
    are JSON ending in a NUL byte), printing page after page in one tab: a set costs a
    page load and a print, not a browser start-up."""

    def __init__(self, executable: str, timeout: float):
        self.timeout = timeout
        self.tmp = tempfile.TemporaryDirectory(prefix="tt-print-")
        self.log = open(Path(self.tmp.name) / "chromium.log", "w+b")
        to_child, self._w = os.pipe()
        self._r, from_child = os.pipe()
        # The browser's ends go to fds 3 and 4 in a small exec wrapper, not in a preexec_fn
        # (which is not safe with the worker threads); first moved above 9, so that
        # placing one cannot overwrite the other.
        theirs = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_child, from_child)]
        os.close(to_child)
        os.close(from_child)
        a, b = theirs
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _EXEC_ON_3_AND_4, str(a), str(b), executable,
                 *FLAGS, "--remote-debugging-pipe",
                 f"--user-data-dir={Path(self.tmp.name) / 'profile'}"],
                stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, pass_fds=(a, b))
        except OSError as e:
            self.close()
            raise PrintError(f"could not run {executable}: {e}") from None
        finally:
            for fd in theirs:
                os.close(fd)
        self.executable, self.n, self.buf = executable, 0, b""
        try:
            target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            self.session = self.call("Target.attachToTarget",
                                     {"targetId": target, "flatten": True})["sessionId"]
            self.call("Page.enable", session=True)
        except PrintError:
            self.close()
            raise

    def said(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace").strip()[-800:]

    def _message(self, deadline: float) -> dict:
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._r], [], [], left)[0]:
                raise PrintError(f"{self.executable} did not answer in {self.timeout:.0f} s")
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise PrintError(f"{self.executable} stopped (exit {self.proc.poll()}): {self.said()}")
            self.buf += chunk
        text, self.buf = self.buf.split(b"\0", 1)
        return json.loads(text)

    def call(self, method: str, params: dict | None = None, session: bool = False,
             until: str | None = None) -> dict:
        """Send one command; return its result once it (and the event `until`) came."""
        self.n += 1
        message = {"id": self.n, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        try:
            os.write(self._w, json.dumps(message).encode("utf-8") + b"\0")
        except OSError as e:
            raise PrintError(f"{self.executable} stopped listening: {e}") from None
        deadline = time.monotonic() + self.timeout
        result, waiting = None, until
        while result is None or waiting:
            reply = self._message(deadline)
            if reply.get("id") == self.n:
                if "error" in reply:
                    raise PrintError(f"{method}: {reply['error'].get('message', reply['error'])}")
                result = reply.get("result", {})
            elif waiting and reply.get("method") == waiting:
                waiting = None
        return result

    def print(self, html: Path, pdf: Path) -> Path:
        done = self.call("Page.navigate", {"url": html.as_uri()}, session=True,
                         until="Page.loadEventFired")
        if done.get("errorText"):
            raise PrintError(f"{html}: the browser could not open it: {done['errorText']}")
        out = self.call("Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True,
                                            "displayHeaderFooter": False}, session=True)
        data = base64.b64decode(out.get("data", ""))
        if not data.startswith(b"%PDF-"):
            raise PrintError(f"{html}: {self.executable} gave no PDF")
        return atomic_write_bytes(pdf, data)

    def close(self) -> None:
        proc = getattr(self, "proc", None)
        if proc is not None and proc.poll() is None:
            try:
                self.call("Browser.close")
                proc.wait(10)
            except (PrintError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()
        for fd in (getattr(self, "_r", None), getattr(self, "_w", None)):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._r = self._w = None
        self.log.close()
        self.tmp.cleanup()


def _print_all(pairs: list[tuple[Path, Path]], browser: str, timeout: float) -> list[str | None]:
    """Print each (html, pdf) in one browser, started again after a failure; an error
    text (or None) per pair."""
    errors: list[str | None] = []
    chrome = None
    try:
        for html, pdf in pairs:
            html = Path(html).resolve()
            if not html.is_file():
                errors.append(f"{html}: no such set to print")
                continue
            try:
                chrome = chrome or _Browser(browser, timeout)
                chrome.print(html, pdf)
                errors.append(None)
            except PrintError as e:
                errors.append(str(e) if str(e).startswith(str(html)) else f"{html}: {e}")
                if chrome is not None:
                    chrome.close()
                chrome = None
    finally:
        if chrome is not None:
            chrome.close()
    return errors


def print_pdf(html: Path, pdf: Path, browser: str, timeout: float = PRINT_TIMEOUT) -> Path:
    """Print one HTML file to `pdf` (atomically); PrintError says why it failed."""
    error = _print_all([(Path(html), Path(pdf))], browser, timeout)[0]
    if error:
        raise PrintError(error)
    return Path(pdf)


@dataclass
class PrintSummary:
    printed: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)


def _stale(html: Path, pdf: Path) -> bool:
    try:
        return pdf.stat().st_mtime_ns < html.stat().st_mtime_ns
    except OSError:
        return True


def print_sets(folders: list[Path], browser: str, jobs: int | None = None,
               force: bool = False) -> PrintSummary:
    """problem_set.pdf beside each folder's problem_set.html, `jobs` browsers at a time."""
    summary = PrintSummary()
    todo = []
    for folder in folders:
        html, pdf = Path(folder) / "problem_set.html", Path(folder) / "problem_set.pdf"
        if force or _stale(html, pdf):
            todo.append((html, pdf))
        else:
            summary.skipped += 1

    workers = max(1, min(jobs or os.cpu_count() or 1, len(todo) or 1))
    shares = [todo[k::workers] for k in range(workers)]     # one browser per worker
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda share: _print_all(share, browser, PRINT_TIMEOUT), shares))
    for errors in results:
        for error in errors:
            if error is None:
                summary.printed += 1
            else:
                summary.failed.append(error)
    return summary
