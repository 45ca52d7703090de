"""`tt problems generate --pdf`: each student's HTML set printed to problem_set.pdf by a
headless Chromium (its formulas are MathML, which Chromium draws natively).

Chromium (or Google Chrome) is looked up on PATH. Each page is opened from its file with
the network cut off (every host name resolves to nothing; the sets need none) in a
fresh temporary profile, printed into a temporary folder, checked to be a PDF, and only
then moved into place (tt.io.atomic_write_bytes), so an interrupted run leaves whole
files. A set is printed again when its PDF is missing or older than its HTML (or with
--force). One set that fails to print does not stop the others: the failures are
returned, each with what Chromium said.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tt.io import atomic_write_bytes

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--no-pdf-header-footer")
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


def print_pdf(html: Path, pdf: Path, browser: str, timeout: float = PRINT_TIMEOUT) -> Path:
    """Print one HTML file to `pdf` (atomically); PrintError says why it failed."""
    html = Path(html).resolve()
    if not html.is_file():
        raise PrintError(f"{html}: no such set to print")
    with tempfile.TemporaryDirectory(prefix="tt-print-") as tmp:
        target = Path(tmp) / "out.pdf"
        try:
            r = subprocess.run([browser, *FLAGS, f"--user-data-dir={Path(tmp) / 'profile'}",
                                f"--print-to-pdf={target}", html.as_uri()],
                               capture_output=True, text=True, timeout=timeout,
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise PrintError(f"{html}: {browser} did not finish printing in {timeout:.0f} s") from None
        except OSError as e:
            raise PrintError(f"{html}: could not run {browser}: {e}") from None
        data = target.read_bytes() if target.is_file() else b""
        if not data.startswith(b"%PDF-"):
            said = (r.stderr or r.stdout).strip()[-800:]
            raise PrintError(f"{html}: {browser} wrote no PDF (exit {r.returncode}): {said}")
    return atomic_write_bytes(pdf, data)


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

    def one(pair):
        try:
            print_pdf(*pair, browser)
            return None
        except PrintError as e:
            return str(e)

    workers = max(1, min(jobs or os.cpu_count() or 1, len(todo) or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for error in pool.map(one, todo):
            if error is None:
                summary.printed += 1
            else:
                summary.failed.append(error)
    return summary
