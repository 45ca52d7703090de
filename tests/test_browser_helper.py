"""The headless-browser helper itself: scripts run, the probe sees the page, nothing reaches the network."""
from pathlib import Path

from browser import chromium_or_skip, load, screenshot


def test_the_probe_sees_the_page_after_its_scripts(tmp_path: Path):
    chromium_or_skip()
    (tmp_path / "ok.png").write_bytes(bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da6360f8ff"
        "ff3f0005fe02fea7d6a4f00000000049454e44ae426082"))
    page = tmp_path / "page.html"
    page.write_text('<!doctype html><html><head><title>t</title></head><body><p id="a">before</p>'
                    '<img src="ok.png"><img src="missing.png"><img src="http://example.com/x.png">'
                    '<script>console.log("ran", 1); document.getElementById("a").textContent = "after"; '
                    'nosuchfunction();</script></body></html>')
    got = load(page, probe="return {text: document.getElementById('a').textContent, "
                           "widths: [...document.images].map(i => i.naturalWidth)}")
    assert got.probe == {"text": "after", "widths": [1, 0, 0]}     # offline: the remote image never loads
    assert "log: ran 1" in got.console and any("nosuchfunction" in line for line in got.console)
    assert any(line.startswith("not loaded: ") and line.endswith("missing.png") for line in got.console)
    assert "after" in got.dom and "tt-probe" not in got.dom
    assert not list(tmp_path.glob(".tt-probe-*"))                   # the probed copy is removed
    png = screenshot(page, tmp_path / "page.png", 400, 300)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
