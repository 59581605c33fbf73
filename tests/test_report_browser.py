"""report.html as a person sees it: rendered by headless Chromium (no DevTools protocol,
just `--dump-dom` and `--screenshot`). A probe script, added to a copy of the page for
the test only, measures the laid-out page: the contents are on screen, every link has a
target, the page itself does not scroll sideways, and a trace wider than the window
scrolls in its own box with the step and action still in view."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest

from checker.report import render_all

from .report_data import check

BROWSER = next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="no headless Chromium: `apt-get install -y chromium` (.ci/run installs it)"
)

N = 30  # variables that all change in one step: a trace table far wider than the window
WIDE = "\n".join(
    [f"var long_variable_name_{i} : 0 .. 9 = 0" for i in range(N)]
    + ["action set_everything_at_once {"]
    + [f"  long_variable_name_{i} := {i % 9 + 1}" for i in range(N)]
    + ["}", f"invariant untouched: long_variable_name_{N - 1} == 0", "allow deadlock", ""]
)

PROBE = """<script>
window.addEventListener('load', () => {
  const out = {};
  const nav = document.getElementById('contents');
  const r = nav.getBoundingClientRect();
  out.toc_on_screen = r.height > 0 && r.width > 0 && r.top >= 0 && r.top < innerHeight;
  out.links = [...nav.querySelectorAll('a')].map(a => [a.textContent, !!document.getElementById(a.hash.slice(1))]);
  out.page_scrolls_sideways = document.documentElement.scrollWidth > innerWidth + 1;
  const box = document.querySelector('div.trace');
  const b = box.getBoundingClientRect();
  out.box_scrolls = box.scrollWidth > box.clientWidth;
  box.scrollLeft = box.scrollWidth;
  const act = box.querySelector('tbody td.act').getBoundingClientRect();
  const step = box.querySelector('tbody td.step').getBoundingClientRect();
  const last = box.querySelector('tbody tr:last-child td:last-child').getBoundingClientRect();
  out.action_in_view_after_scroll = act.left >= b.left - 1 && act.right <= b.right + 1 && act.width > 20;
  out.step_in_view_after_scroll = step.left >= b.left - 1;
  out.last_column_in_view_after_scroll = last.right <= b.right + 1 && last.left >= act.right - 1;
  out.action_text = box.querySelector('tbody tr:last-child td.act').textContent;
  const p = document.createElement('pre');
  p.id = 'probe';
  p.textContent = JSON.stringify(out);
  document.body.appendChild(p);
});
</script>"""


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert BROWSER is not None
    cmd = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=900,700"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120)


def _png_size_and_colours(path: Path) -> tuple[int, int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    idat, pos = b"", 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        if data[pos + 4 : pos + 8] == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return width, height, len(set(zlib.decompress(idat)))


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("browser")
    spec = tmp / "wide.plug"
    spec.write_text(WIDE, encoding="utf-8")
    html = render_all(check([str(spec)]))["report.html"]
    report = tmp / "report.html"
    report.write_text(html, encoding="utf-8")
    probed = tmp / "probed.html"
    probed.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = _chromium("--virtual-time-budget=5000", "--dump-dom", probed.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    start = dom.stdout.index('<pre id="probe">') + len('<pre id="probe">')
    probe = json.loads(dom.stdout[start : dom.stdout.index("</pre>", start)].replace("&quot;", '"'))
    return report, probe


def test_contents_are_on_screen_and_every_link_has_a_target(page: tuple[Path, dict[str, Any]]) -> None:
    _, probe = page
    assert probe["toc_on_screen"]
    names = [name for name, _ in probe["links"]]
    assert any("untouched (invariant) violated" in n for n in names)  # the failure, listed first
    assert "untouched" in names  # the trace link under its config
    assert all(ok for _, ok in probe["links"]), probe["links"]


def test_a_wide_trace_scrolls_in_its_box_with_step_and_action_in_view(page: tuple[Path, dict[str, Any]]) -> None:
    _, probe = page
    assert not probe["page_scrolls_sideways"]
    assert probe["box_scrolls"]
    assert probe["action_in_view_after_scroll"] and probe["step_in_view_after_scroll"]
    assert probe["last_column_in_view_after_scroll"]
    assert probe["action_text"] == "set_everything_at_once"


def test_the_page_renders_to_a_screenshot(page: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    report, _ = page
    shot = tmp_path / "shot.png"
    done = _chromium(f"--screenshot={shot}", report.as_uri())
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    width, height, colours = _png_size_and_colours(shot)
    assert (width, height) == (900, 700)
    assert colours > 10  # text and tables, not a blank page
