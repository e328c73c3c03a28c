"""Twin of contracts/modules/markets.vy: market parameters, borrow index,
oracle price and open interest.

The model keeps each market as two records (MarketParams, MarketState)
where the contract packs words; _check_params bounds every field within
its packed width, so the records hold exactly what the words can.
The rules the harness also needs off chain live here once: index_at is
_current_index's arithmetic, oracle_error is _price's checks.
"""
from dataclasses import dataclass, replace
from typing import Optional

from .env import ZERO_ADDRESS
from .errors import Revert, checked, require
from .events import Event
from .risk import BPS, INDEX_ONE, MAX_U128
# Field widths of the packed market words (market_risk).
U16 = 2**16 - 1
U32 = 2**32 - 1
U64 = 2**64 - 1
# Bounds checked on every write of market parameters.
MAX_MARKETS = 65_535
MIN_INITIAL_MARGIN_BPS = 10
MAX_FEE_BPS = 500
MAX_LIQUIDATION_FEE_BPS = 1_000
# The liquidation reward floor (token units) fills market_risk's top 32 bits.
MAX_MIN_LIQUIDATION_REWARD = 2**32 - 1
MAX_MAX_PROFIT_BPS = 100_000
# About 1000% of notional a year.
MAX_BORROW_RATE = 317_097_919_837
MAX_STALENESS = 7 * 86_400
# A feed's answer must fit a position's 128-bit entry price.
MAX_FEED_DECIMALS = 18
# A market's new feed answers within 5% of its old one (see _check_feed_change).
MAX_FEED_MOVE_BPS = 500
# Once a feed has had no usable round this long, closes and liquidations
# settle at the market's last good price (Markets._trade_price).
ORACLE_FALLBACK_DELAY = 86_400

YEAR = 365 * 86_400


@dataclass(frozen=True)
class MarketParams:
    initial_margin_bps: int
    maintenance_margin_bps: int
    open_fee_bps: int
    close_fee_bps: int
    liquidation_fee_bps: int
    min_liquidation_reward: int     # token units; the reward is max(bps fee, this), capped at collateral
    insurance_share_bps: int
    max_profit_bps: int
    borrow_rate: int
    staleness: int
    min_collateral: int
    oi_cap: int

    def as_tuple(self) -> tuple:
        return tuple(self.__dict__[f] for f in self.__dataclass_fields__)


EMPTY_PARAMS = MarketParams(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)


@dataclass(frozen=True)
class MarketState:
    feed: str = ZERO_ADDRESS
    oi_long: int = 0
    oi_short: int = 0
    borrow_index: int = 0
    last_accrual: int = 0


@dataclass(frozen=True, slots=True)
class BorrowIndexAccrued(Event):
    market_id: int
    borrow_index: int
    timestamp: int


# ---------------------------------------------------------------- rules (pure)

def rate_per_year(bps: int) -> int:
    """Per-second borrow rate (INDEX_ONE scale) for a yearly rate in bps."""
    return bps * INDEX_ONE // BPS // YEAR


def index_at(borrow_index: int, last_accrual: int, rate: int, timestamp: int) -> int:
    """A market's borrow index in a block at `timestamp` (_current_index's rule)."""
    return borrow_index + rate * (timestamp - last_accrual) if timestamp > last_accrual else borrow_index


def _index_at(borrow_index: int, last_accrual: int, borrow_rate: int, timestamp: int) -> int:
    """Twin of markets._index_at (index_at's rule, the contract's name)."""
    return index_at(borrow_index, last_accrual, borrow_rate, timestamp)


def _checked_price(answer: int, updated_at: int, staleness: int, timestamp: int) -> int:
    """Twin of markets._checked_price: the price, or the engine's reason."""
    error = oracle_error(answer, updated_at, staleness, timestamp)
    if error is not None:
        raise Revert(error)
    return answer


def _positive(ok: bool, answer: int) -> bool:
    """Twin of markets._positive: an answer a position can take."""
    return ok and 0 < answer <= MAX_U128


def _usable(ok: bool, answer: int, updated_at: int, staleness: int, timestamp: int) -> bool:
    """Twin of markets._usable: a round _checked_price accepts."""
    return _positive(ok, answer) and updated_at + staleness >= timestamp


def _fallback_price(ok: bool, answer: int, updated_at: int, last: int, staleness: int, timestamp: int) -> int:
    """Twin of markets._fallback_price: the last good price an exit takes on a
    feed with no usable round for ORACLE_FALLBACK_DELAY; 0 before. A positive
    round is the feed's own last good one (stale from updatedAt + staleness);
    otherwise `last` (market_last_price), stale from its time + staleness or
    from the bad round's updatedAt if later."""
    if _usable(ok, answer, updated_at, staleness, timestamp):
        return 0
    fallback, since = last & MAX_U128, (last >> 128) + staleness
    if _positive(ok, answer):
        fallback, since = answer, updated_at + staleness
    elif ok:
        since = max(since, updated_at)
    return fallback if timestamp > since + ORACLE_FALLBACK_DELAY else 0


def oracle_error(answer: int, updated_at: int, staleness: int, timestamp: int) -> Optional[str]:
    """The reason _price would refuse this round at `timestamp`; None if accepted."""
    if answer <= 0:
        return "oracle: price not positive"
    if updated_at + staleness < timestamp:
        return "oracle: price is stale"
    if answer > MAX_U128:
        return "oracle: price out of range"
    return None


def exit_price(answered: bool, answer: int, updated_at: int, last: int, staleness: int,
               timestamp: int) -> Optional[int]:
    """Model-only: the price a close or liquidation takes at `timestamp`
    (markets._trade_price's exit path): the feed's round while the engine
    accepts it, else the last good price once _fallback_price applies, else
    None (the exit reverts). `answered` is False when latestRoundData
    reverts; `last` is Engine.market_last_price. The keeper's and the
    liquidation index's views price with it."""
    if answered and oracle_error(answer, updated_at, staleness, timestamp) is None:
        return answer
    return _fallback_price(answered, answer, updated_at, last, staleness, timestamp) or None


class FeedChecks:
    """The rules on a market's feed (markets.vy's _check_feed and
    _check_feed_change), for MarketRules' twin. `self.feeds` maps an address
    to its feed's twin (None: no feed contract there, so a call answers
    nothing, as a call to an address without code does)."""

    def _feed_decimals(self, feed: str):
        """(answered, decimals): False when no feed contract is there."""
        aggregator = self.feeds[feed]
        if aggregator is None:
            return False, 0
        return True, aggregator.decimals

    def _feed_round(self, feed: str):
        """(answered, answer, updatedAt) of the feed's latest round; (False, 0, 0)
        when nothing answers (a reverting feed, no contract)."""
        aggregator = self.feeds[feed]
        if aggregator is None:
            return False, 0, 0
        _, answer, _, updated_at, _ = aggregator.latestRoundData()
        return True, answer, updated_at

    def _feed_answer(self, feed: str) -> int:
        """The latest answer whatever its age; 0 when nothing answers."""
        aggregator = self.feeds[feed]
        if aggregator is None:
            return 0
        return aggregator.latestRoundData()[1]

    def _check_feed(self, feed: str) -> None:
        """A market's feed answers decimals(), at most MAX_FEED_DECIMALS."""
        require(feed != ZERO_ADDRESS, "params: zero feed")
        ok, decimals = self._feed_decimals(feed)
        require(ok, "feed: no decimals() answer")
        require(decimals <= MAX_FEED_DECIMALS, "feed: more than 18 decimals")

    def _check_feed_change(self, old_feed: str, new_feed: str) -> None:
        """Same decimals as the feed replaced, a positive answer, within
        MAX_FEED_MOVE_BPS of the old feed's latest answer (unbounded only when
        the old feed answers nothing usable)."""
        self._check_feed(new_feed)
        _, new_decimals = self._feed_decimals(new_feed)
        ok, old_decimals = self._feed_decimals(old_feed)
        require(ok and old_decimals == new_decimals, "feed: decimals differ from the market's feed")
        new_answer = self._feed_answer(new_feed)
        require(new_answer > 0, "feed: no positive answer")
        old_answer = self._feed_answer(old_feed)
        if old_answer > 0:
            require(abs(new_answer - old_answer) * BPS <= old_answer * MAX_FEED_MOVE_BPS,
                    "feed: answer too far from the market's feed")


class Markets:
    """Mixin of the model Engine: state market_params, market_state, feeds."""

    def __init__(self):
        self.market_count = 0
        self._market_params = self.mapping(None)
        self._market_state = self.mapping(MarketState())
        # The last round a trade took, packed as on chain (the engine's
        # public getter): price | seen << 128, seen = min(updatedAt, block time).
        self.market_last_price = self.mapping(0)

    def _params(self, market_id: int) -> MarketParams:
        p = self._market_params[market_id]
        return EMPTY_PARAMS if p is None else p

    def _store_params(self, market_id: int, p: MarketParams) -> None:
        self._market_params[market_id] = p

    @staticmethod
    def _check_params(p: MarketParams) -> None:
        """Every bound, in field order (the first bad field names the revert); a
        field bounded by an earlier one carries that check: the liquidation fee
        (never 0) by the maintenance margin, the minimum collateral by the
        liquidation reward floor, so the floor is always in a position's vault."""
        require(MIN_INITIAL_MARGIN_BPS <= p.initial_margin_bps <= BPS, "params: initial margin out of bounds")
        require(p.maintenance_margin_bps != 0 and p.maintenance_margin_bps < p.initial_margin_bps,
                "params: maintenance margin out of bounds")
        require(p.open_fee_bps <= MAX_FEE_BPS, "params: open fee out of bounds")
        require(p.close_fee_bps <= MAX_FEE_BPS, "params: close fee out of bounds")
        require(p.liquidation_fee_bps != 0 and p.liquidation_fee_bps <= MAX_LIQUIDATION_FEE_BPS
                and p.liquidation_fee_bps <= p.maintenance_margin_bps, "params: liquidation fee out of bounds")
        require(p.min_liquidation_reward <= MAX_MIN_LIQUIDATION_REWARD, "params: min liquidation reward out of bounds")
        require(p.insurance_share_bps <= BPS, "params: insurance share out of bounds")
        require(p.max_profit_bps != 0 and p.max_profit_bps <= MAX_MAX_PROFIT_BPS, "params: max profit out of bounds")
        require(p.borrow_rate <= MAX_BORROW_RATE, "params: borrow rate out of bounds")
        require(p.staleness != 0 and p.staleness <= MAX_STALENESS, "params: staleness out of bounds")
        require(p.min_collateral != 0 and p.min_liquidation_reward <= p.min_collateral <= MAX_U128,
                "params: min collateral out of bounds")
        require(p.oi_cap != 0 and p.oi_cap <= MAX_U128, "params: open interest cap out of bounds")

    @staticmethod
    def _min_collateral(collateral: int, p: MarketParams) -> None:
        """Holds after every change a trader makes, so a liquidation always
        has collateral to pay its liquidator from: at least
        min_liquidation_reward, which _check_params keeps <= min_collateral."""
        require(collateral >= p.min_collateral, "engine: collateral below minimum")

    def _listed(self, market_id: int) -> None:
        require(self._market_state[market_id].feed != ZERO_ADDRESS, "engine: unknown market")

    def _accrue(self, market_id: int, borrow_rate: int) -> int:
        """Bring the borrow index to this block; logs BorrowIndexAccrued if it moved in time."""
        st = self._market_state[market_id]
        now = self.env.timestamp
        if now <= st.last_accrual:
            return st.borrow_index
        index = index_at(st.borrow_index, st.last_accrual, borrow_rate, now)
        require(index <= MAX_U128, "engine: borrow index overflow")
        self._market_state[market_id] = replace(st, borrow_index=index, last_accrual=now)
        self._emit(BorrowIndexAccrued(market_id, index, now))
        return index

    def _current_index(self, market_id: int, borrow_rate: int) -> int:
        st = self._market_state[market_id]
        return _index_at(st.borrow_index, st.last_accrual, borrow_rate, self.env.timestamp)

    def _round(self, market_id: int):
        """(answer, updatedAt) of the market's feed's latest round, unchecked."""
        feed = self._market_state[market_id].feed
        require(feed != ZERO_ADDRESS, "engine: unknown market")
        aggregator = self.feeds[feed]
        if aggregator is None:
            raise Revert(None)      # no contract there: the call reverts without a reason
        _, answer, _, updated_at, _ = aggregator.latestRoundData()
        return answer, updated_at

    def _trade_price(self, rules, market_id: int, staleness: int, requested_at: int, is_exit: bool) -> int:
        """A trade's price: only a round published after the request, checked
        before the answer (a faulty round the trader never saw makes the
        order wait, not be cancelled); opens, increases and decreases record
        it as the market's last price. An exit (close, liquidation) on a feed with no usable round for
        ORACLE_FALLBACK_DELAY takes the last good price instead: the feed's
        own latest answer if positive (only stale), else the last recorded."""
        feed = self._market_state[market_id].feed
        require(feed != ZERO_ADDRESS, "engine: unknown market")
        ok, answer, updated_at = rules.feed_round(feed)
        now = self.env.timestamp
        if is_exit:
            # Read only when the feed is unusable (the contract's gas rule).
            if not _usable(ok, answer, updated_at, staleness, now):
                fallback = _fallback_price(ok, answer, updated_at, self.market_last_price[market_id], staleness, now)
                if fallback != 0:
                    return fallback
        if not ok:
            answer, updated_at = self._round(market_id)      # raises as the feed does
        require(updated_at > requested_at, "engine: no price round after the request")
        price = _checked_price(answer, updated_at, staleness, now)
        if not is_exit:
            # Opens, resizes and decreases record the round; exits need not.
            recorded = price | (min(updated_at, now) << 128)
            if recorded != self.market_last_price[market_id]:
                self.market_last_price[market_id] = recorded
        return price

    def fallback_starts(self, market_id: int) -> Optional[int]:
        """Model-only: the first block time at which closes and liquidations
        settle at the last good price, given the feed's latest round now
        (None: no price to fall back on). A usable round then moves it."""
        feed = self._market_state[market_id].feed
        ok, answer, updated_at = self.rules.feed_round(feed)
        last, staleness = self.market_last_price[market_id], self._params(market_id).staleness
        if not _positive(ok, answer) and not last & MAX_U128:
            return None
        # The first time _fallback_price answers, found by bisection over its own rule.
        lo, hi = self.env.timestamp, max(self.env.timestamp, updated_at, last >> 128) + staleness + ORACLE_FALLBACK_DELAY + 1
        if _fallback_price(ok, answer, updated_at, last, staleness, lo):
            return lo
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if _fallback_price(ok, answer, updated_at, last, staleness, mid) else (mid, hi)
        return hi

    def _price(self, market_id: int, staleness: Optional[int] = None) -> int:
        """`staleness` defaults to the market's own, for callers that only ask
        whether the engine would take the price now."""
        if staleness is None:
            staleness = self._params(market_id).staleness
        answer, updated_at = self._round(market_id)
        return _checked_price(answer, updated_at, staleness, self.env.timestamp)

    def _add_open_interest(self, market_id: int, is_long: bool, amount: int, increase: bool) -> None:
        # An underflow reverts bare, as the contract's checked subtraction does.
        st = self._market_state[market_id]
        delta = amount if increase else -amount
        if is_long:
            self._market_state[market_id] = replace(st, oi_long=checked(st.oi_long + delta))
        else:
            self._market_state[market_id] = replace(st, oi_short=checked(st.oi_short + delta))

    def _side_open_interest(self, market_id: int, is_long: bool) -> int:
        st = self._market_state[market_id]
        return st.oi_long if is_long else st.oi_short

    def _state(self, market_id: int) -> MarketState:
        """Feed, open interest and stored borrow index (market_state's body)."""
        return self._market_state[market_id]

    def _list(self, feed: str, p: MarketParams) -> int:
        """Lists a market with checked parameters; its index starts at zero, now."""
        market_id = self.market_count + 1
        require(market_id <= MAX_MARKETS, "params: too many markets")
        self.market_count = market_id
        self._market_state[market_id] = MarketState(feed=feed, last_accrual=self.env.timestamp)
        self._store_params(market_id, p)
        return market_id
