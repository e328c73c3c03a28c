"""report.html in a real browser: Chromium (Debian's headless shell, which
./isomargin setup installs) renders the page with its plots inlined, and a
screenshot shows them drawn; the page says what report.md says."""
import base64
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

from harness.drills.drill import run_drill
from harness.drills.report import write_report
from harness.drills.scenario import load_scenario

TINY = Path(__file__).parent / "data" / "tiny.yaml"
# matplotlib's first line colour (C0, #1f77b4): only a drawn plot puts it on the page.
C0 = np.array([0x1F, 0x77, 0xB4]) / 255


def _browser() -> str:
    found = shutil.which("chromium-headless-shell") or shutil.which("chromium")
    assert found, "no Chromium: ./isomargin setup installs Debian's chromium-headless-shell (as root)"
    return found


def _screenshot(page: Path, png: Path) -> np.ndarray:
    p = subprocess.run([_browser(), "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--screenshot={png}",
                        "--window-size=1200,6000", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and png.exists(), p.stderr[-2000:]
    return mpimg.imread(png)[..., :3]


def _c0_pixels(shot: np.ndarray) -> int:
    return int((np.abs(shot - C0).max(axis=-1) < 0.02).sum())


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    write_report(run_drill(load_scenario(TINY), "model", None, progress=False), out)
    return out


def test_the_page_is_self_contained_and_says_what_report_md_says(report):
    page = (report / "report.html").read_text()
    pngs = sorted(p.name for p in report.glob("*.png"))
    inlined = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(inlined) == len(pngs) == 6
    # Each plot's own bytes, in report.md's order.
    order = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", (report / "report.md").read_text())
    assert [base64.b64decode(b) for b in inlined] == [(report / name).read_bytes() for name in order]
    assert not re.search(r'(src|href)="(?!data:)[^"#]+"', page), "the page refers to a file or URL"
    # The summary table's figures, as report.md has them.
    for row in re.findall(r"^\| ([^|]+) \| ([^|]+) \|", (report / "report.md").read_text(), re.M)[2:6]:
        assert row[1].strip() in page


def test_chromium_renders_the_plots(report, tmp_path):
    with_plots = _screenshot(report / "report.html", tmp_path / "with.png")
    assert _c0_pixels(with_plots) > 2_000, "no plot was drawn on the page"
    # The control: the same page without its images has none of the plots' colour.
    bare = tmp_path / "bare.html"
    bare.write_text(re.sub(r"<img [^>]*>", "", (report / "report.html").read_text()))
    assert _c0_pixels(_screenshot(bare, tmp_path / "bare.png")) == 0
