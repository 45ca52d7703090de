"""A real headless browser for the tests of HTML pages (Debian's chromium).

    page = load(path, probe="return {images: [...document.images].map(i => i.naturalWidth)}")
    page.dom        the DOM after the page's own scripts ran, as HTML text
    page.probe      what the probe returned (JSON), evaluated after the load event
    page.console    what the page logged (console.log, errors, "not loaded: <url>"), a line each
    screenshot(path, png, width=1000, height=1400)

The page is opened offline: every host name resolves to nothing, so a page that needs the
network shows it (a missing image, a script that never loaded). The probe runs in the page
itself: a copy of the page, written beside it (so relative links still resolve) with a
script appended, whose result the browser writes into the DOM it dumps.

`chromium_or_skip()` skips a test, with the reason, where chromium is not installed
(`apt-get install chromium`); `.ci/run` installs it where it can.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--host-resolver-rules=MAP * ~NOTFOUND", "--allow-file-access-from-files"]
_RESULT = re.compile(r'<pre id="tt-probe-[0-9a-f]+">(.*?)</pre>', re.S)
_CONSOLE = re.compile(r'<pre id="tt-console-[0-9a-f]+">(.*?)</pre>', re.S)


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def chromium_or_skip() -> str:
    path = chromium()
    if path is None:
        pytest.skip("no chromium on this machine (apt-get install chromium): the page is not opened in a browser")
    return path


@dataclass
class Page:
    dom: str
    probe: object
    console: list[str]


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="tt-chromium-") as profile:
        return subprocess.run([chromium_or_skip(), *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def load(path: Path | str, probe: str = "return null", wait_ms: int = 3000, timeout: float = 60) -> Page:
    """Open the page, run its scripts, then the probe (a function body); see the module doc."""
    path = Path(path).resolve()
    tag = uuid.uuid4().hex[:12]
    script = f"""
<script id="tt-probe-script-{tag}">
(function () {{
  var logs = [];
  var keep = function (kind) {{ return function () {{
    logs.push(kind + ": " + Array.prototype.map.call(arguments, String).join(" ")); }}; }};
  console.log = keep("log"); console.warn = keep("warn"); console.error = keep("error");
  window.addEventListener("error", function (e) {{
    var t = e.target;
    logs.push(t && t !== window ? "not loaded: " + (t.src || t.href) : "error: " + e.message); }}, true);
  function done() {{
    var out;
    try {{ out = JSON.stringify((function () {{ {probe} }})()); }}
    catch (e) {{ out = JSON.stringify({{"probe_error": String(e)}}); }}
    var pre = document.createElement("pre"); pre.id = "tt-probe-{tag}"; pre.textContent = out;
    var log = document.createElement("pre"); log.id = "tt-console-{tag}"; log.textContent = JSON.stringify(logs);
    document.body.appendChild(pre); document.body.appendChild(log);
  }}
  window.addEventListener("load", function () {{ setTimeout(done, 200); }});
}})();
</script>"""
    text = path.read_text(encoding="utf-8")
    # the probe first of all scripts, so that it hears what the page's own scripts log
    head = re.search(r"<head[^>]*>", text, re.I)
    probed = text[:head.end()] + script + text[head.end():] if head else script + text
    copy = path.with_name(f".tt-probe-{tag}-{path.name}")
    copy.write_text(probed, encoding="utf-8")
    try:
        r = _run([f"--virtual-time-budget={wait_ms}", "--dump-dom", copy.as_uri()], timeout)
    finally:
        os.unlink(copy)
    result, console = _RESULT.search(r.stdout), _CONSOLE.search(r.stdout)
    if result is None:
        raise AssertionError(f"chromium did not run the page's scripts to the end (exit {r.returncode}): "
                             f"{r.stderr[-2000:]}")
    dom = re.sub(r'<script id="tt-probe-script-[0-9a-f]+">.*?</script>', "", r.stdout, flags=re.S)
    dom = _RESULT.sub("", _CONSOLE.sub("", dom))
    return Page(dom, json.loads(_unescape(result.group(1))),
                json.loads(_unescape(console.group(1))) if console else [])


def screenshot(path: Path | str, png: Path | str, width: int = 1000, height: int = 1400,
               wait_ms: int = 3000, timeout: float = 60) -> Path:
    """A PNG of the page as the browser draws it (the file tool shows it as a picture)."""
    png = Path(png).resolve()
    r = _run([f"--virtual-time-budget={wait_ms}", f"--window-size={width},{height}", "--hide-scrollbars",
              f"--screenshot={png}", Path(path).resolve().as_uri()], timeout)
    if not png.exists():
        raise AssertionError(f"chromium wrote no screenshot (exit {r.returncode}): {r.stderr[-2000:]}")
    return png
