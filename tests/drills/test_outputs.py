"""A report folder holds one run: the drill's own files from a previous
run are removed, nothing else; the keeper backlog is plotted, over time."""
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from harness.drills import outputs
from harness.drills.drill import run_drill
from harness.drills.plots import backlog_figure, time_axis
from harness.drills.report import figures, write_report
from harness.drills.scenario import load_scenario

HERE = Path(__file__).parent
DEFAULT = HERE.parents[1] / "drills" / "default.yaml"


@pytest.fixture(scope="module")
def default():
    # The model backend draws the same figures as a chain (test_report.py).
    r = run_drill(load_scenario(DEFAULT), "model", None, progress=False)
    assert r.status == "ok", r.failure
    return r


def test_a_rerun_removes_the_previous_run_s_files_and_only_those(default, tmp_path):
    out = tmp_path / "out"
    first = write_report(default, out)
    pngs = {p.name for p in first.values() if p.suffix == ".png"}
    assert pngs == set(outputs.PLOTS)           # the clearing knows every plot the drill draws
    (out / "notes.txt").write_text("the user's own")
    (out / "mine").mkdir()
    (out / "mine" / "price.png").write_bytes(b"not the drill's")
    (out / "report.md").write_text("a previous run's report")

    second = write_report(default, out, plots=False)
    left = {p.name for p in out.iterdir()}
    assert left == {p.name for p in second.values()} | {"notes.txt", "mine"}
    assert not left & pngs
    assert (out / "mine" / "price.png").read_bytes() == b"not the drill's"
    md = (out / "report.md").read_text()
    assert "previous run" not in md and "## Plots" not in md


def test_the_backlog_is_plotted_against_chain_time(default):
    f = figures(default)
    s = f["series"]
    assert max(s["liquidatable"]) > max(s["liquidations"]) > 0      # the default drill builds a backlog
    fig = backlog_figure(f)
    try:
        (ax,) = fig.axes
        found, done = ax.get_lines()[:2]
        assert list(found.get_ydata()) == s["liquidatable"] and list(done.get_ydata()) == s["liquidations"]
        xs, label = time_axis(s)
        assert list(found.get_xdata()) == xs and ax.get_xlabel() == label and "time" in label
    finally:
        plt.close(fig)


def test_every_series_plot_has_time_on_its_x_axis(default):
    from harness.drills.plots import funds_figure, open_interest_figure, price_figure
    f = figures(default)
    _, label = time_axis(f["series"])
    for fig in (price_figure(f, default), open_interest_figure(f), funds_figure(f), backlog_figure(f)):
        try:
            labels = [ax.get_xlabel() for ax in fig.axes]
            assert label in labels and "step" not in labels
        finally:
            plt.close(fig)
