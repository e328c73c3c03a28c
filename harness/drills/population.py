"""The traders of a scenario: who opens what, drawn from the seed alone.

Each cohort draws from its own generator (seeded by the scenario seed and
the cohort's index), so adding a cohort does not reshuffle the others; the
opening order is one more seeded shuffle. Explicitly listed positions come
first, in file order, so small hand-checked scenarios stay readable.
"""
import random
from dataclasses import dataclass
from typing import List

from .scenario import Scenario


@dataclass(frozen=True)
class Planned:
    index: int           # order of opening, 0-based
    market: str
    is_long: bool
    amount: int          # tokens paid in: collateral + open fee
    leverage_tenths: int
    trader: int          # index into the drill's trader accounts
    source: str = ""     # where the scenario asks for it: traders.cohorts[1], traders.positions[0]

    @property
    def size(self) -> int:
        return self.amount * self.leverage_tenths // 10


def plan_population(s: Scenario) -> List[Planned]:
    drawn = []
    for ci, c in enumerate(s.cohorts):
        rng = random.Random(f"isomargin:{s.seed}:cohort:{ci}")
        for _ in range(c.count):
            market = rng.choices(c.markets, weights=c.market_weights)[0]
            is_long = rng.random() < c.long_share
            drawn.append((market, is_long, c.amount.draw(rng), c.leverage_tenths.draw(rng), f"traders.cohorts[{ci}]"))
    random.Random(f"isomargin:{s.seed}:order").shuffle(drawn)
    listed = [(p.market, p.is_long, p.amount, p.leverage_tenths, f"traders.positions[{i}]")
              for i, p in enumerate(s.positions)]
    return [Planned(i, m, long_, amount, lev, i % s.trader_accounts, source)
            for i, (m, long_, amount, lev, source) in enumerate(listed + drawn)]
