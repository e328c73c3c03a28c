"""Market parameters as YAML writes them: one reader, one set of keys and
units, for deploy configs (deployments/config/*.yaml) and drill scenarios
(drills/*.yaml) alike.

| key | unit |
| --- | --- |
| `initial_margin_bps`, `maintenance_margin_bps`, `open_fee_bps`, `close_fee_bps`, `liquidation_fee_bps`, `insurance_share_bps`, `max_profit_bps` | basis points |
| `borrow_rate_bps_per_year` | a yearly rate in bps (the engine's per-second rate is derived: `rate_per_year`) |
| `borrow_rate` | instead: the engine's own per-second rate, 1e18 scale, exactly |
| `staleness` | seconds |
| `min_liquidation_reward_tokens`, `min_collateral_tokens`, `oi_cap_tokens` | whole tokens of the collateral (10 is 10 USDC), decimals down to its base unit |

A deploy config (no `base`) must give every key, `min_liquidation_reward_tokens`
included: a missing one is named in the error, so no deployment gets a
floor it did not choose (0 is allowed and means the bps fee alone). A drill
scenario overrides its standard market (`base`), whose floor is 5 USDC.

Older keys are still read, each with a warning (DeprecatedKey) naming the
file, the old key and the new one: `borrow_rate_apr_bps` (same unit) and
`min_collateral` / `oi_cap`, which meant token base units in deploy
configs but whole USDC in drill scenarios (the caller says which).
"""
import warnings
from decimal import Decimal, InvalidOperation
from typing import Callable, Optional

from model import MarketParams, Revert
from model.engine import Engine
from model.markets import rate_per_year

BPS_FIELDS = ("initial_margin_bps", "maintenance_margin_bps", "open_fee_bps", "close_fee_bps",
              "liquidation_fee_bps", "insurance_share_bps", "max_profit_bps")
TOKEN_FIELDS = {"min_liquidation_reward": "min_liquidation_reward_tokens", "min_collateral": "min_collateral_tokens",
                "oi_cap": "oi_cap_tokens"}
RATE_KEYS = ("borrow_rate_bps_per_year", "borrow_rate")
# The keys of every MarketParams field, the preferred one first.
FIELD_KEYS = {**{f: (f,) for f in BPS_FIELDS}, "borrow_rate": RATE_KEYS, "staleness": ("staleness",),
              **{f: (k,) for f, k in TOKEN_FIELDS.items()}}
KEYS = frozenset(k for keys in FIELD_KEYS.values() for k in keys)
# Old key -> (MarketParams field, new key).
DEPRECATED = {"borrow_rate_apr_bps": ("borrow_rate", "borrow_rate_bps_per_year"),
              "min_collateral": ("min_collateral", "min_collateral_tokens"),
              "oi_cap": ("oi_cap", "oi_cap_tokens")}


class DeprecatedKey(FutureWarning):
    """A market parameter written with a key that is going away."""


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _decimal(fail, where: str, value) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        fail(where, f"expected a number, got {value!r}")
    try:
        d = Decimal(str(value).replace("_", ""))
    except InvalidOperation:
        fail(where, f"expected a number, got {value!r}")
    if not d.is_finite() or d < 0:
        fail(where, f"expected a non-negative number, got {value!r}")
    return d


def _units(fail, where: str, value, scale: int) -> int:
    d = _decimal(fail, where, value) * scale
    if d != d.to_integral_value():
        fail(where, f"{value!r} is finer than the token's base unit" if scale > 1 else
             f"expected a whole number, got {value!r}")
    return int(d)


def _token_amount(amount: int, decimals: int) -> str:
    whole, frac = divmod(amount, 10**decimals)
    text = f"{whole:_}"
    return text + (f".{frac:0{decimals}d}".rstrip("0") if frac else "")


def read_market_params(raw, where: str, *, file: str, fail: Callable[[str, str], None],
                       keys: Callable[[str, object, set, list], dict], token_decimals: int, legacy_units: int,
                       base: Optional[MarketParams] = None,
                       refusal: str = "the engine would refuse these parameters") -> MarketParams:
    """A market's `params` mapping at `where` in `file`, as MarketParams.

    `fail(where, message)` raises the caller's error; `keys(where, raw,
    allowed, required)` checks the mapping's keys the caller's way (and
    returns it). Without `base`, every parameter must be given; with it,
    the mapping overrides `base`. `legacy_units` scales the deprecated
    `min_collateral` / `oi_cap` (1: base units; 10**decimals: whole tokens)."""
    given = set(raw) if isinstance(raw, dict) else set()
    missing = []
    if base is None:
        for f, forms in FIELD_KEYS.items():
            old = [k for k, (field, _) in DEPRECATED.items() if field == f]
            if not given & (set(forms) | set(old)):
                missing.append(forms[0])
    raw = keys(where, raw, KEYS | set(DEPRECATED), missing)
    raw = raw or {}
    values = dict(base.__dict__) if base is not None else {}
    for f, forms in FIELD_KEYS.items():
        present = [k for k in forms + tuple(k for k, (field, _) in DEPRECATED.items() if field == f) if k in raw]
        if len(present) > 1:
            fail(where, f"give one of {' or '.join(present)}, not both")
    scale = 10**token_decimals
    for key, value in raw.items():
        w = _join(where, key)
        if key in DEPRECATED:
            field, new = DEPRECATED[key]
            if key == "borrow_rate_apr_bps":
                hint, values[field] = f"{new}: {value}", rate_per_year(_units(fail, w, value, 1))
            else:
                values[field] = _units(fail, w, value, legacy_units)
                unit = "token base units" if legacy_units == 1 else "whole tokens"
                hint = f"{new}: {_token_amount(values[field], token_decimals)} (whole tokens; {key} was in {unit})"
            warnings.warn(f"{file}: {w} is deprecated and will stop being read; write {hint}", DeprecatedKey,
                          stacklevel=3)
        elif key == "borrow_rate_bps_per_year":
            values["borrow_rate"] = rate_per_year(_units(fail, w, value, 1))
        elif key.endswith("_tokens"):
            values[key[:-len("_tokens")]] = _units(fail, w, value, scale)
        else:
            values[key] = _units(fail, w, value, 1)
    params = MarketParams(**values)
    try:
        Engine._check_params(params)
    except Revert as err:
        fail(where, f"{refusal}: {err.reason}")
    return params

