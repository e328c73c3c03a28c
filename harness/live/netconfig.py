"""Per-network deployment configuration: deployments/config/<network>.yaml.

A config names the collateral token and, for each market, its Chainlink
feed and parameters. On a devnet (`mock: true`) the deploy creates a
MockUSDC and one MockAggregator per market instead. Everything is checked
here, before any transaction: market parameters with the engine's own
bounds (the model's twin of Engine._check_params), addresses with their
EIP-55 checksum. Errors name the file and the key.
"""
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

import yaml
from eth_utils import is_checksum_address, is_hex_address, to_checksum_address

from model import MarketParams
from model.pool import MAX_REDEEM_FEE_BPS

from ..chains.artifacts import ROOT
from ..protocol.params import read_market_params

DEPLOYMENTS = ROOT / "deployments"
CONFIG_DIR = DEPLOYMENTS / "config"
PARAM_FIELDS = tuple(MarketParams.__dataclass_fields__)
MOCK_DESCRIPTION_MAX = 32   # MockAggregator.description is String[32]
# Two days: long enough for traders to see a scheduled change and exit
# before it applies; a config may choose otherwise (timelock_delay_seconds).
DEFAULT_TIMELOCK_DELAY = 2 * 86_400


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class FeedConfig:
    address: Optional[str]        # None: a MockAggregator is deployed
    decimals: int
    description: Optional[str]
    answer: Optional[int]         # a mock feed's initial answer


@dataclass(frozen=True)
class MarketConfig:
    symbol: str
    feed: FeedConfig
    params: MarketParams


@dataclass(frozen=True)
class NetConfig:
    path: Path
    sha256: str
    chain_id: Optional[int]
    mock: bool
    guardian: str                 # "deployer" or an address
    token_address: Optional[str]  # None: a MockUSDC is deployed
    token_decimals: int
    markets: Tuple[MarketConfig, ...]
    # L2s: Chainlink's sequencer uptime feed (None: no check, as on L1) and
    # how long after an outage liquidations and order executions still wait.
    sequencer_feed: Optional[str] = None
    sequencer_grace: int = 0
    execution_fee: int = 0            # token base units, paid to the keeper per order
    redeem_fee_bps: int = 0
    # The engine's owner is a Timelock (contracts/Timelock.vy): every owner
    # change waits this long after it is scheduled. Its proposer (who also
    # executes and cancels) is "deployer" or an address.
    timelock_delay: int = DEFAULT_TIMELOCK_DELAY
    timelock_proposer: str = "deployer"

    def market(self, symbol: str) -> MarketConfig:
        for m in self.markets:
            if m.symbol == symbol:
                return m
        raise KeyError(symbol)

    def guardian_for(self, deployer: str) -> str:
        return deployer if self.guardian == "deployer" else self.guardian

    def proposer_for(self, deployer: str) -> str:
        return deployer if self.timelock_proposer == "deployer" else self.timelock_proposer


def manifest_name(ecosystem: str, network: str) -> str:
    """File stem for a network: "sepolia", "local", "base-sepolia"; forks get their own."""
    return network if ecosystem == "ethereum" else f"{ecosystem}-{network}"


def default_config_path(name: str) -> Path:
    path = CONFIG_DIR / f"{name}.yaml"
    if not path.exists() and name.endswith("-fork"):
        # A fork rehearses the real network's deployment.
        base = CONFIG_DIR / f"{name[:-len('-fork')]}.yaml"
        if base.exists():
            return base
    return path


# ---------------------------------------------------------------- loading

class _Where:
    def __init__(self, path: Path):
        self.path = path

    def fail(self, key: str, message: str):
        where = f"{self.path}: {key}" if key else str(self.path)
        raise ConfigError(f"{where}: {message}")


def _keys(w: _Where, key: str, value, required: set, optional: set) -> dict:
    if not isinstance(value, dict):
        w.fail(key, f"expected a mapping, got {type(value).__name__}")
    unknown = set(value) - required - optional
    if unknown:
        w.fail(key, f"unknown key(s) {sorted(unknown)}; allowed: {sorted(required | optional)}")
    missing = required - set(value)
    if missing:
        w.fail(key, f"missing key(s) {sorted(missing)}")
    return value


def _int(w: _Where, key: str, value, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        w.fail(key, f"expected an integer, got {value!r}")
    if value < minimum:
        w.fail(key, f"must be >= {minimum}, got {value}")
    return value


def _address(w: _Where, key: str, value) -> str:
    if isinstance(value, int):
        w.fail(key, "write addresses as quoted strings (unquoted YAML reads 0x... as a number "
                    "and loses the EIP-55 checksum)")
    if not isinstance(value, str) or not is_hex_address(value):
        w.fail(key, f"not an address: {value!r}")
    if value != value.lower() and not is_checksum_address(value):
        w.fail(key, f"bad EIP-55 checksum in {value} (a typo?); expected {to_checksum_address(value)}")
    if int(value, 16) == 0:
        w.fail(key, "zero address")
    return to_checksum_address(value)


def _params(w: _Where, key: str, raw, token_decimals: int) -> MarketParams:
    """All twelve parameters, in the keys and units of protocol/params.py
    (amounts in whole tokens). Old configs' min_collateral / oi_cap were in
    token base units."""
    return read_market_params(raw, key, file=str(w.path), fail=w.fail,
                              keys=lambda k, value, allowed, required: _keys(w, k, value, set(required),
                                                                             set(allowed) - set(required)),
                              token_decimals=token_decimals, legacy_units=1,
                              refusal="rejected by the engine's bounds")


def _feed(w: _Where, key: str, raw, mock: bool) -> FeedConfig:
    if mock:
        _keys(w, key, raw, {"answer"}, {"decimals", "description"})
        description = raw.get("description")
        if description is not None and (not isinstance(description, str) or len(description) > MOCK_DESCRIPTION_MAX):
            w.fail(f"{key}.description", f"a string of at most {MOCK_DESCRIPTION_MAX} characters")
        answer = _int(w, f"{key}.answer", raw["answer"], minimum=1)
        return FeedConfig(None, _int(w, f"{key}.decimals", raw.get("decimals", 8)), description, answer)
    _keys(w, key, raw, {"address"}, {"decimals", "description"})
    description = raw.get("description")
    if description is not None and not isinstance(description, str):
        w.fail(f"{key}.description", "expected a string")
    return FeedConfig(_address(w, f"{key}.address", raw["address"]),
                      _int(w, f"{key}.decimals", raw.get("decimals", 8)), description, None)


def load(path) -> NetConfig:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such config file (see deployments/README.md)")
    text = path.read_bytes()
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from err
    w = _Where(path)
    _keys(w, "", raw, {"markets", "token"},
          {"chain_id", "mock", "guardian", "sequencer_feed", "sequencer_grace_seconds", "execution_fee_tokens",
           "redeem_fee_bps", "timelock_delay_seconds", "timelock_proposer"})
    mock = raw.get("mock", False)
    if not isinstance(mock, bool):
        w.fail("mock", "expected true or false")
    chain_id = raw.get("chain_id")
    if chain_id is not None:
        chain_id = _int(w, "chain_id", chain_id, minimum=1)
    if mock and chain_id == 1:
        w.fail("mock", "mock tokens and feeds on Ethereum mainnet? refusing")

    guardian = raw.get("guardian", "deployer")
    if guardian != "deployer":
        guardian = _address(w, "guardian", guardian)

    token = raw["token"]
    if mock:
        _keys(w, "token", token, set(), {"decimals"})
        decimals = _int(w, "token.decimals", token.get("decimals", 6))
        if decimals != 6:
            w.fail("token.decimals", "MockUSDC has 6 decimals")
        token_address = None
    else:
        _keys(w, "token", token, {"address", "decimals"}, set())
        token_address = _address(w, "token.address", token["address"])
        decimals = _int(w, "token.decimals", token["decimals"])

    markets_raw = raw["markets"]
    if not isinstance(markets_raw, dict) or not markets_raw:
        w.fail("markets", "expected a mapping of at least one market symbol to its feed and params")
    markets: List[MarketConfig] = []
    feeds = {}
    for symbol, m in markets_raw.items():
        key = f"markets.{symbol}"
        if not isinstance(symbol, str) or not symbol.isidentifier():
            w.fail(key, "market symbols are plain names like ETH or BTC")
        _keys(w, key, m, {"feed", "params"}, set())
        feed = _feed(w, f"{key}.feed", m["feed"], mock)
        if feed.address is not None:
            if feed.address in feeds:
                w.fail(f"{key}.feed.address", f"same feed as market {feeds[feed.address]}")
            feeds[feed.address] = symbol
        markets.append(MarketConfig(symbol, feed, _params(w, f"{key}.params", m["params"], decimals)))
    sequencer_feed = raw.get("sequencer_feed", "none")
    sequencer_feed = None if sequencer_feed == "none" else _address(w, "sequencer_feed", sequencer_feed)
    grace = _int(w, "sequencer_grace_seconds", raw.get("sequencer_grace_seconds", 0))
    if sequencer_feed is None and grace:
        w.fail("sequencer_grace_seconds", "a grace period needs a sequencer_feed")
    if sequencer_feed is not None and not grace:
        # Right after an outage every stale position would be liquidated at once.
        w.fail("sequencer_grace_seconds", "give the grace after a sequencer outage (Chainlink suggests 3600)")
    fee_tokens = raw.get("execution_fee_tokens", 0)
    if isinstance(fee_tokens, bool) or not isinstance(fee_tokens, (int, float)) or fee_tokens < 0:
        w.fail("execution_fee_tokens", f"expected a non-negative number of tokens, got {fee_tokens!r}")
    execution_fee = round(fee_tokens * 10**decimals)
    if execution_fee != fee_tokens * 10**decimals:
        w.fail("execution_fee_tokens", f"more decimals than the token's {decimals}")
    redeem_fee_bps = _int(w, "redeem_fee_bps", raw.get("redeem_fee_bps", 0))
    if redeem_fee_bps > MAX_REDEEM_FEE_BPS:
        w.fail("redeem_fee_bps", f"at most {MAX_REDEEM_FEE_BPS} (LiquidityPool's bound)")
    timelock_delay = _int(w, "timelock_delay_seconds", raw.get("timelock_delay_seconds", DEFAULT_TIMELOCK_DELAY))
    proposer = raw.get("timelock_proposer", "deployer")
    if proposer != "deployer":
        proposer = _address(w, "timelock_proposer", proposer)
    return NetConfig(path=path, sha256=hashlib.sha256(text).hexdigest(), chain_id=chain_id, mock=mock,
                     guardian=guardian, token_address=token_address, token_decimals=decimals,
                     markets=tuple(markets), sequencer_feed=sequencer_feed, sequencer_grace=grace,
                     execution_fee=execution_fee, redeem_fee_bps=redeem_fee_bps, timelock_delay=timelock_delay,
                     timelock_proposer=proposer)


def params_dict(p: MarketParams) -> dict:
    return {f: getattr(p, f) for f in PARAM_FIELDS}
