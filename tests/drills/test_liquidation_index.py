"""The drill's keepers find what they found before the index: at every scan
of a drill on the model backend, model/liquidation_index.py names the same
positions, with the same shortfalls in the same order, as the full scan
over every open position (harness.keeper.health.liquidatable)."""
from pathlib import Path

import pytest

from harness.drills.drill import Drill
from harness.drills.scenario import load_scenario
from harness.keeper.health import liquidatable as full_scan, open_positions

DRILLS = Path(__file__).parents[2] / "drills"


class Compared:
    """The drill's scanner, held to the full scan at every call."""

    def __init__(self, index, engine):
        self.index, self.engine = index, engine
        self.calls = self.found = 0

    def liquidatable(self, views):
        got = self.index.liquidatable(views)
        assert got == full_scan(open_positions(self.engine), views)
        self.calls += 1
        self.found += len(got)
        return got


# default: a gap past bankruptcy and a keeper backlog; stale-oracle: scans
# while the oracle is refused; slow-bleed: 36 steps of a slow slide, so
# the borrow fee moves thresholds while positions wait.
@pytest.mark.parametrize("name", ["default", "stale-oracle", "slow-bleed"])
def test_every_scan_of_a_drill_matches_the_full_scan(name):
    drill = Drill(load_scenario(DRILLS / f"{name}.yaml"), "model", None, progress=False)
    drill.scanner = compared = Compared(drill.scanner, drill.engine)
    r = drill.run()
    assert r.status == "ok", r.failure
    # Every step, after the opens, and after the final closes if there are any.
    assert compared.calls == drill.s.steps + 1 + drill.s.close_all
    assert compared.found > 0 and r.liquidations
