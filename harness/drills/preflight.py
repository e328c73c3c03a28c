"""Before a drill deploys anything: which of its positions would be refused?

A scenario asking 20x of a market whose initial margin is 10% runs to the
end with every position rejected, 0 liquidations and status "ok": a drill
that rehearsed nothing and says all is well. So the drill's own set-up and
opening phase first run on the model alone (the engine's twin, exact to
the unit), and the refusals it meets are the engine's, with the engine's
reasons: nothing here re-derives a margin, a fee or a cap.

Two verdicts, each one message: positions refused for their leverage (a
mistake in the scenario, the market cannot take them), and a drill in
which most positions are refused for any reason. Either stops the drill
before a chain is touched unless the user allows rejections.
"""
from collections import Counter
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from .drill import Drill, PositionRecord
from .scenario import Scenario

LEVERAGE_REASON = "engine: leverage above maximum"


@dataclass(frozen=True)
class LeverageRefusal:
    market: str
    initial_margin_bps: int
    refused: int
    sources: Tuple[str, ...]          # where in the scenario they come from
    highest_refused_tenths: int
    highest_accepted_tenths: Optional[int]


@dataclass(frozen=True)
class Preflight:
    file: str
    planned: int
    rejected: Dict[str, int]          # the model's reason -> positions refused for it
    leverage: Tuple[LeverageRefusal, ...]

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def mostly_rejected(self) -> bool:
        return 2 * self.rejected_total > self.planned

    def problems(self) -> List[str]:
        """What the user must hear before anything is deployed, one message each."""
        out = []
        if self.leverage:
            out.append(self._leverage_message())
        if self.mostly_rejected:
            reasons = "; ".join(f"{n} x {r!r}" for r, n in sorted(self.rejected.items(), key=lambda kv: -kv[1]))
            out.append(f"{self.file}: {self.rejected_total} of {self.planned} positions would be rejected "
                       f"({reasons}): the drill would rehearse almost nothing.")
        return out

    def _leverage_message(self) -> str:
        n = sum(x.refused for x in self.leverage)
        lines = [f"{self.file}: {n} of {self.planned} positions ask for more leverage than their market's "
                 f"initial margin allows (the model refuses them: {LEVERAGE_REASON!r}):"]
        for x in self.leverage:
            accepted = (f"the most accepted in this drill is {_x(x.highest_accepted_tenths)}"
                        if x.highest_accepted_tenths is not None else "none of its positions is accepted")
            lines.append(f"  {x.market}: initial_margin_bps {x.initial_margin_bps}; {x.refused} from "
                         f"{', '.join(x.sources)} at up to {_x(x.highest_refused_tenths)}; {accepted}")
        lines.append("  Lower their leverage or the market's initial_margin_bps.")
        return "\n".join(lines)


def _x(tenths: int) -> str:
    return f"{tenths / 10:g}x"


def preflight(scenario: Scenario, offline: Optional[Drill] = None) -> Preflight:
    """The scenario's set-up and opens on the model, and what it refused.
    `offline`: a model-backend drill of the scenario to open here and run
    afterwards, so an offline drill does not open its population twice."""
    drill = offline or Drill(scenario, "model", None, progress=False)
    return judge(scenario, drill.open_only())


def judge(scenario: Scenario, records: List[PositionRecord]) -> Preflight:
    rejected = Counter(r.reject_reason for r in records if r.position_id is None)
    leverage = []
    for m in scenario.markets:
        mine = [r for r in records if r.plan.market == m.symbol]
        refused = [r for r in mine if r.reject_reason == LEVERAGE_REASON]
        if not refused:
            continue
        accepted = [r.plan.leverage_tenths for r in mine if r.position_id is not None]
        leverage.append(LeverageRefusal(
            market=m.symbol, initial_margin_bps=m.params.initial_margin_bps, refused=len(refused),
            sources=tuple(sorted({r.plan.source for r in refused})),
            highest_refused_tenths=max(r.plan.leverage_tenths for r in refused),
            highest_accepted_tenths=max(accepted, default=None)))
    return Preflight(scenario.file, len(records), dict(sorted(rejected.items())), tuple(leverage))
