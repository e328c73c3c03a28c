"""Drill scenarios: a YAML file in drills/, loaded and checked up front.

Every mistake is reported with the file and the key path it sits at
(`drills/x.yaml: markets.ETH.params.oi_cap: expected a number`), before
anything is deployed: a drill that fails half-way through a 1,000-position
run because of a typo wastes minutes.

Amounts are written in USDC and prices in USD; they become integers in
token and feed units here, so everything downstream is integer arithmetic
and a scenario gives the same figures on every machine.
"""
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

from model import MarketParams

from ..protocol.markets import MARKETS, USDC
from ..protocol.params import read_market_params
from .pricepath import PriceStep, compile_path

DEFAULT_SCENARIO = "drills/default.yaml"
ISOLATION_MODES = ("tx", "step")
PICKS = ("deepest", "random")


class ScenarioError(ValueError):
    """A scenario file that cannot be run, with where and why."""


@dataclass(frozen=True)
class Dist:
    """A seeded draw: `fixed`, `uniform` (inclusive, on a grid) or `choice`."""
    kind: str
    values: Tuple[int, ...]
    weights: Tuple[float, ...] = ()

    def draw(self, rng) -> int:
        if self.kind == "fixed":
            return self.values[0]
        if self.kind == "uniform":
            return rng.randint(self.values[0], self.values[1])
        return rng.choices(self.values, weights=self.weights or None)[0]


@dataclass(frozen=True)
class Cohort:
    count: int
    markets: Tuple[str, ...]
    market_weights: Tuple[float, ...]
    long_share: float
    leverage_tenths: Dist      # leverage x10: 2.5x is 25
    amount: Dist               # tokens paid in per position (collateral + open fee)


@dataclass(frozen=True)
class ExplicitPosition:
    market: str
    is_long: bool
    amount: int
    leverage_tenths: int


@dataclass(frozen=True)
class MarketSpec:
    symbol: str
    decimals: int
    price: int                  # feed units at step 0
    params: MarketParams
    path: Tuple[PriceStep, ...]  # steps 1..n


@dataclass(frozen=True)
class KeeperSpec:
    count: int = 1
    scan_every: int = 1         # steps between two scans of one keeper
    latency: int = 0            # steps between a scan and its transactions
    max_per_scan: int = 0       # 0: no limit
    gas_price_wei: int = 20 * 10**9
    stagger: bool = True        # spread the keepers' scans over scan_every
    pick: str = "deepest"       # deepest first (all keepers chase the same), or random order per keeper
    eth_usd: Optional[int] = None   # feed units; None: the ETH market's price, else 2,000


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    file: str
    seed: int
    step_seconds: int
    steps: int
    markets: Tuple[MarketSpec, ...]
    lp_count: int
    lp_deposit: int
    insurance: int
    trader_accounts: int
    cohorts: Tuple[Cohort, ...]
    positions: Tuple[ExplicitPosition, ...]
    keepers: KeeperSpec
    isolation: str
    close_all: bool
    rpc_error_rate: float
    base_dir: str = field(default=".", compare=False)

    @property
    def population(self) -> int:
        return len(self.positions) + sum(c.count for c in self.cohorts)

    def market(self, symbol: str) -> MarketSpec:
        for m in self.markets:
            if m.symbol == symbol:
                return m
        raise KeyError(symbol)

    def accounts_needed(self) -> int:
        """owner, guardian, LPs, keepers, traders."""
        return 2 + self.lp_count + self.keepers.count + self.trader_accounts


# ---------------------------------------------------------------- reading values

class _Reader:
    def __init__(self, file: str):
        self.file = file

    def fail(self, where: str, message: str):
        raise ScenarioError(f"{self.file}: {where}: {message}" if where else f"{self.file}: {message}")

    def mapping(self, value, where, allowed, required=()) -> dict:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            self.fail(where, f"expected a mapping, got {type(value).__name__}")
        unknown = sorted(set(map(str, value)) - set(allowed))
        if unknown:
            self.fail(where, f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
        for key in required:
            if key not in value:
                self.fail(_join(where, key), "missing")
        return value

    def decimal(self, value, where) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            self.fail(where, f"expected a number, got {value!r}")
        try:
            d = Decimal(str(value).replace("_", ""))
        except InvalidOperation:
            self.fail(where, f"expected a number, got {value!r}")
        if not d.is_finite():
            self.fail(where, f"expected a finite number, got {value!r}")
        return d

    def integer(self, value, where, lo=None, hi=None) -> int:
        d = self.decimal(value, where)
        if d != d.to_integral_value():
            self.fail(where, f"expected a whole number, got {value!r}")
        n = int(d)
        if lo is not None and n < lo:
            self.fail(where, f"must be at least {lo}, got {n}")
        if hi is not None and n > hi:
            self.fail(where, f"must be at most {hi}, got {n}")
        return n

    def scaled(self, value, where, scale: int, positive=True) -> int:
        """A human number (USDC, USD) in integer units; finer than a unit is an error."""
        d = self.decimal(value, where) * scale
        if d != d.to_integral_value():
            self.fail(where, f"{value!r} has more decimals than the token or feed")
        n = int(d)
        if positive and n <= 0:
            self.fail(where, f"must be positive, got {value!r}")
        return n

    def fraction(self, value, where) -> float:
        d = self.decimal(value, where)
        if not 0 <= d <= 1:
            self.fail(where, f"must be between 0 and 1, got {value!r}")
        return float(d)

    def boolean(self, value, where) -> bool:
        if not isinstance(value, bool):
            self.fail(where, f"expected true or false, got {value!r}")
        return value

    def dist(self, value, where, scale: int, lo: int) -> Dist:
        """`5`, `{uniform: [2, 9.5]}` or `{choice: [2, 5, 10], weights: [1, 2, 1]}`."""
        if not isinstance(value, dict):
            n = self.scaled(value, where, scale)
            if n < lo:
                self.fail(where, f"must be at least {lo / scale}")
            return Dist("fixed", (n,))
        self.mapping(value, where, {"uniform", "choice", "weights"})
        if "uniform" in value:
            pair = value["uniform"]
            if not isinstance(pair, list) or len(pair) != 2:
                self.fail(_join(where, "uniform"), "expected [low, high]")
            a = self.scaled(pair[0], _join(where, "uniform[0]"), scale)
            b = self.scaled(pair[1], _join(where, "uniform[1]"), scale)
            if a > b:
                self.fail(_join(where, "uniform"), "low is above high")
            if a < lo:
                self.fail(_join(where, "uniform[0]"), f"must be at least {lo / scale}")
            return Dist("uniform", (a, b))
        if "choice" in value:
            items = value["choice"]
            if not isinstance(items, list) or not items:
                self.fail(_join(where, "choice"), "expected a non-empty list")
            values = tuple(self.scaled(v, f"{where}.choice[{i}]", scale) for i, v in enumerate(items))
            if min(values) < lo:
                self.fail(_join(where, "choice"), f"every value must be at least {lo / scale}")
            weights = value.get("weights")
            if weights is not None:
                if not isinstance(weights, list) or len(weights) != len(values):
                    self.fail(_join(where, "weights"), "expected one weight per choice")
                weights = tuple(float(self.decimal(w, f"{where}.weights[{i}]")) for i, w in enumerate(weights))
                if min(weights) < 0 or sum(weights) <= 0:
                    self.fail(_join(where, "weights"), "weights must be non-negative and not all zero")
            return Dist("choice", values, weights or ())
        self.fail(where, "expected a number, {uniform: [low, high]} or {choice: [...]}")


def _join(where: str, key) -> str:
    return f"{where}.{key}" if where else str(key)


# ---------------------------------------------------------------- market params

def _market_params(r: _Reader, symbol: str, raw, where: str) -> MarketParams:
    """Overrides of the standard market's parameters (ETH's for a new
    symbol), in the keys and units of protocol/params.py; the collateral is
    MockUSDC. Old scenarios' min_collateral / oi_cap were whole USDC too."""
    return read_market_params(raw, where, file=r.file, fail=r.fail,
                              keys=lambda w, value, allowed, required: r.mapping(value, w, allowed, required),
                              token_decimals=6, legacy_units=USDC,
                              base=MARKETS.get(symbol, MARKETS["ETH"])["params"])


# ---------------------------------------------------------------- loading

TOP_KEYS = {"name", "description", "seed", "step_seconds", "markets", "liquidity", "insurance", "traders",
            "keepers", "checks", "end", "faults"}


def load_scenario(path, *, seed: Optional[int] = None, positions: Optional[int] = None) -> Scenario:
    """Read and check a scenario. `seed` and `positions` override the file's
    (positions rescales the population and what is sized to it)."""
    path = Path(path)
    file = str(path)
    r = _Reader(file)
    if not path.exists():
        raise ScenarioError(f"{file}: no such scenario file")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ScenarioError(f"{file}: not valid YAML: {err}") from None
    raw = r.mapping(raw, "", TOP_KEYS, required=("markets", "traders"))
    base_dir = path.resolve().parent

    name = str(raw.get("name") or path.stem)
    step_seconds = r.integer(raw.get("step_seconds", 60), "step_seconds", lo=1, hi=7 * 86_400)

    markets_raw = raw["markets"]
    if not isinstance(markets_raw, dict) or not markets_raw:
        r.fail("markets", "expected a mapping of market symbols")
    markets = []
    for symbol, m in markets_raw.items():
        w = f"markets.{symbol}"
        m = r.mapping(m, w, {"price", "decimals", "params", "path"}, required=("price",))
        decimals = r.integer(m.get("decimals", 8), _join(w, "decimals"), lo=0, hi=18)
        price = r.scaled(m["price"], _join(w, "price"), 10**decimals)
        params = _market_params(r, str(symbol), m.get("params"), _join(w, "params"))
        path_steps = compile_path(m.get("path") or [], price, decimals, base_dir,
                                  lambda where, msg, _w=w: r.fail(f"{_w}.path{where}", msg))
        markets.append(MarketSpec(str(symbol), decimals, price, params, tuple(path_steps)))
    steps = max(len(m.path) for m in markets)
    if steps == 0:
        r.fail("markets", "no market has a price path: nothing to drill")
    markets = [replace(m, path=_pad(m.path, m.price, steps)) for m in markets]
    symbols = [m.symbol for m in markets]

    liq = r.mapping(raw.get("liquidity"), "liquidity", {"lps", "deposit"}, required=("deposit",))
    lp_count = r.integer(liq.get("lps", 2), "liquidity.lps", lo=1, hi=8)
    lp_deposit = r.scaled(liq["deposit"], "liquidity.deposit", USDC)
    insurance = r.scaled(raw.get("insurance", 0), "insurance", USDC, positive=False)

    tr = r.mapping(raw["traders"], "traders", {"accounts", "cohorts", "positions"})
    trader_accounts = r.integer(tr.get("accounts", 8), "traders.accounts", lo=1)
    cohorts = tuple(_cohort(r, c, f"traders.cohorts[{i}]", symbols) for i, c in enumerate(tr.get("cohorts") or []))
    explicit = tuple(_explicit(r, p, f"traders.positions[{i}]", symbols)
                     for i, p in enumerate(tr.get("positions") or []))
    if not cohorts and not explicit:
        r.fail("traders", "no cohorts and no positions: nobody to liquidate")

    kp = r.mapping(raw.get("keepers"), "keepers",
                   {"count", "scan_every", "latency", "max_per_scan", "gas_price_gwei", "stagger", "eth_usd", "pick"})
    if kp.get("pick", "deepest") not in PICKS:
        r.fail("keepers.pick", f"expected one of {', '.join(PICKS)}, got {kp.get('pick')!r}")
    keepers = KeeperSpec(
        count=r.integer(kp.get("count", 1), "keepers.count", lo=1, hi=16),
        scan_every=r.integer(kp.get("scan_every", 1), "keepers.scan_every", lo=1),
        latency=r.integer(kp.get("latency", 0), "keepers.latency", lo=0),
        max_per_scan=r.integer(kp.get("max_per_scan", 0), "keepers.max_per_scan", lo=0),
        gas_price_wei=r.scaled(kp.get("gas_price_gwei", 20), "keepers.gas_price_gwei", 10**9, positive=False),
        stagger=r.boolean(kp.get("stagger", True), "keepers.stagger"),
        eth_usd=r.scaled(kp["eth_usd"], "keepers.eth_usd", 10**8) if "eth_usd" in kp else None,
        pick=kp.get("pick", "deepest"),
    )

    checks = r.mapping(raw.get("checks"), "checks", {"isolation"})
    isolation = checks.get("isolation", "step")
    if isolation not in ISOLATION_MODES:
        r.fail("checks.isolation", f"expected one of {', '.join(ISOLATION_MODES)}, got {isolation!r}")
    end = r.mapping(raw.get("end"), "end", {"close_all"})
    faults = r.mapping(raw.get("faults"), "faults", {"rpc_error_rate"})
    rpc_error_rate = r.fraction(faults.get("rpc_error_rate", 0), "faults.rpc_error_rate")

    scenario = Scenario(
        name=name,
        description=str(raw.get("description") or "").strip(),
        file=file,
        seed=r.integer(raw.get("seed", 1), "seed", lo=0) if seed is None else seed,
        step_seconds=step_seconds,
        steps=steps,
        markets=tuple(markets),
        lp_count=lp_count,
        lp_deposit=lp_deposit,
        insurance=insurance,
        trader_accounts=trader_accounts,
        cohorts=cohorts,
        positions=explicit,
        keepers=keepers,
        isolation=isolation,
        close_all=r.boolean(end.get("close_all", False), "end.close_all"),
        rpc_error_rate=rpc_error_rate,
        base_dir=str(base_dir),
    )
    if positions is not None:
        scenario = rescale(scenario, positions)
    return scenario


def _pad(path: Tuple[PriceStep, ...], start: int, steps: int) -> Tuple[PriceStep, ...]:
    # A market whose path ends early (or has none) holds its last price, oracle beating.
    last = path[-1].price if path else start
    return path + tuple(PriceStep(last, True) for _ in range(steps - len(path)))


def _cohort(r: _Reader, raw, where: str, symbols: List[str]) -> Cohort:
    raw = r.mapping(raw, where, {"count", "markets", "long_share", "leverage", "collateral"},
                    required=("count", "leverage", "collateral"))
    names, weights = _market_weights(r, raw.get("markets", symbols), _join(where, "markets"), symbols)
    return Cohort(
        count=r.integer(raw["count"], _join(where, "count"), lo=0),
        markets=names,
        market_weights=weights,
        long_share=r.fraction(raw.get("long_share", 0.5), _join(where, "long_share")),
        leverage_tenths=r.dist(raw["leverage"], _join(where, "leverage"), 10, 1),
        amount=r.dist(raw["collateral"], _join(where, "collateral"), USDC, 1),
    )


def _market_weights(r: _Reader, raw, where: str, symbols: List[str]):
    if isinstance(raw, str):
        raw = [raw]
    if isinstance(raw, list):
        raw = {s: 1 for s in raw}
    if not isinstance(raw, dict) or not raw:
        r.fail(where, "expected a market symbol, a list of them, or {symbol: weight}")
    for s in raw:
        if s not in symbols:
            r.fail(where, f"unknown market {s!r} (scenario markets: {', '.join(symbols)})")
    weights = tuple(float(r.decimal(w, f"{where}.{s}")) for s, w in raw.items())
    if min(weights) < 0 or sum(weights) <= 0:
        r.fail(where, "weights must be non-negative and not all zero")
    return tuple(raw), weights


def _explicit(r: _Reader, raw, where: str, symbols: List[str]) -> ExplicitPosition:
    raw = r.mapping(raw, where, {"market", "side", "collateral", "leverage"},
                    required=("market", "side", "collateral", "leverage"))
    if raw["market"] not in symbols:
        r.fail(_join(where, "market"), f"unknown market {raw['market']!r}")
    if raw["side"] not in ("long", "short"):
        r.fail(_join(where, "side"), f"expected long or short, got {raw['side']!r}")
    return ExplicitPosition(raw["market"], raw["side"] == "long", r.scaled(raw["collateral"], _join(where, "collateral"), USDC),
                            r.scaled(raw["leverage"], _join(where, "leverage"), 10))


def rescale(s: Scenario, positions: int) -> Scenario:
    """The same drill with `positions` positions: cohorts keep their shares
    (largest remainder), and the LP deposit, insurance fund, open-interest
    caps and keepers' capacity grow in proportion, so the bigger population
    still fits and is served as well."""
    if positions < len(s.positions) or not s.cohorts:
        raise ScenarioError(f"{s.file}: cannot rescale to {positions} positions "
                            f"({len(s.positions)} are listed explicitly, {len(s.cohorts)} cohorts)")
    target = positions - len(s.positions)
    total = sum(c.count for c in s.cohorts) or 1
    exact = [c.count * target for c in s.cohorts]
    counts = [e // total for e in exact]
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] % total), i))
    for i in order[: target - sum(counts)]:
        counts[i] += 1
    ratio_num, ratio_den = positions, max(s.population, 1)

    def grow(x: int) -> int:
        return max(x, x * ratio_num // ratio_den)

    markets = tuple(replace(m, params=replace(m.params, oi_cap=min(grow(m.params.oi_cap), 2**128 - 1)))
                    for m in s.markets)
    keepers = replace(s.keepers, max_per_scan=grow(s.keepers.max_per_scan))
    return replace(s, cohorts=tuple(replace(c, count=n) for c, n in zip(s.cohorts, counts)),
                   lp_deposit=grow(s.lp_deposit), insurance=grow(s.insurance), markets=markets,
                   keepers=keepers, name=f"{s.name}-{positions}")


def scenario_summary(s: Scenario) -> Dict[str, Any]:
    """What the report says about the scenario (no paths that differ per machine)."""
    return {
        "name": s.name,
        "file": Path(s.file).name,
        "description": s.description,
        "seed": s.seed,
        "steps": s.steps,
        "step_seconds": s.step_seconds,
        "population": s.population,
        "markets": {m.symbol: {"initial_price": m.price, "decimals": m.decimals,
                               "params": dict(zip(m.params.__dataclass_fields__, m.params.as_tuple()))}
                    for m in s.markets},
        "liquidity": {"lps": s.lp_count, "deposit_each": s.lp_deposit},
        "insurance": s.insurance,
        "keepers": {"count": s.keepers.count, "scan_every": s.keepers.scan_every, "latency": s.keepers.latency,
                    "max_per_scan": s.keepers.max_per_scan, "gas_price_wei": s.keepers.gas_price_wei,
                    "pick": s.keepers.pick, "stagger": s.keepers.stagger},
        "isolation_mode": s.isolation,
        "close_all": s.close_all,
        "rpc_error_rate": s.rpc_error_rate,
    }
