# pragma version ~=0.4.3
"""
@title isomargin markets: packed parameters, bounds, borrow index, oracle
@custom:contract-name markets
@notice Markets are packed so that a trade reads five cold slots, not
        eleven (see _params, _store_params; _state unpacks the rest):
          market_risk:   the bps, max profit, staleness and borrow-rate fields,
                         the liquidation reward floor in the top 32 bits
          market_limits: min_collateral | oi_cap << 128
          market_oi:     oi_long | oi_short << 128
          market_index:  borrow_index | last_accrual << 128
        model/markets.py is the Python twin.
"""
from ..interfaces import AggregatorV3
from . import risk


# @dev Market ids are 1..MAX_MARKETS: a position packs its market id in 16 bits.
MAX_MARKETS: constant(uint256) = 65_535


# @dev Bounds checked on every write of market parameters (_check_params).
MIN_INITIAL_MARGIN_BPS: constant(uint256) = 10
MAX_FEE_BPS: constant(uint256) = 500
MAX_LIQUIDATION_FEE_BPS: constant(uint256) = 1_000
# @dev The liquidation reward floor, in token units, fills the top 32 bits of
# market_risk: up to 4,294.967295 tokens of 6 decimals (USDC). A token of
# more decimals would need a wider field (borrow_rate's 64 bits need 39).
MAX_MIN_LIQUIDATION_REWARD: constant(uint256) = 2**32 - 1
MAX_MAX_PROFIT_BPS: constant(uint256) = 100_000
# @dev About 1000% of notional a year.
MAX_BORROW_RATE: constant(uint256) = 317_097_919_837
MAX_STALENESS: constant(uint256) = 7 * 86_400
# @dev A feed's answer must fit a position's 128-bit entry price: at 18
# decimals that is still 3.4e20 USD.
MAX_FEED_DECIMALS: constant(uint256) = 18
# @dev A market's new feed may answer at most 5% from its old one: an honest
# migration (a new aggregator, a new proxy) answers the same price, and a
# switch to a feed the owner controls cannot jump the price past traders'
# margins in one step (the timelock's delay lets them leave first).
MAX_FEED_MOVE_BPS: constant(uint256) = 500
# @dev Once a market's feed has given no usable round for this long
# (reverting, not positive, stale or out of range), closes and
# liquidations settle at its last good price (_fallback_price): a dead oracle must not lock positions, and the LP money
# reserved for them, for ever (README "Under each fault" says what it
# risks). Opens, increases, decreases and collateral removal still refuse.
ORACLE_FALLBACK_DELAY: constant(uint256) = 86_400


# @dev Field widths in market_risk.
U16: constant(uint256) = 2**16 - 1
U32: constant(uint256) = 2**32 - 1
U64: constant(uint256) = 2**64 - 1


# @dev A market's parameters, as the owner sets them. A liquidator earns
# max(liquidation_fee_bps of size, min_liquidation_reward), capped at the
# position's collateral; min_liquidation_reward is in token units (0: the
# bps fee alone).
struct MarketParams:
    initial_margin_bps: uint256
    maintenance_margin_bps: uint256
    open_fee_bps: uint256
    close_fee_bps: uint256
    liquidation_fee_bps: uint256
    min_liquidation_reward: uint256
    insurance_share_bps: uint256
    max_profit_bps: uint256
    borrow_rate: uint256
    staleness: uint256
    min_collateral: uint256
    oi_cap: uint256


# @dev A market's moving state, as views show it.
struct MarketState:
    feed: address
    oi_long: uint256
    oi_short: uint256
    borrow_index: uint256
    last_accrual: uint256


# @dev Emitted whenever the stored borrow index moves (at most once a block
# per market).
event BorrowIndexAccrued:
    market_id: indexed(uint256)
    borrow_index: uint256
    timestamp: uint256


market_risk: HashMap[uint256, uint256]
market_limits: HashMap[uint256, uint256]
market_feed: HashMap[uint256, address]
market_oi: HashMap[uint256, uint256]
market_index: HashMap[uint256, uint256]
# @dev The last round an open, increase or decrease took, per market:
# price | seen << 128, seen its updatedAt (at most the block time it was
# taken in).
market_last_price: public(HashMap[uint256, uint256])


# @dev Number of markets listed (ids are 1..market_count).
market_count: public(uint256)


@internal
@view
def _params(market_id: uint256) -> MarketParams:
    """
    @dev Unpacks a market's parameters (all zero for an unlisted market).
    @param market_id The market id.
    @return MarketParams The parameters.
    """
    a: uint256 = self.market_risk[market_id]
    b: uint256 = self.market_limits[market_id]
    return MarketParams(
        initial_margin_bps=a & U16,
        maintenance_margin_bps=(a >> 16) & U16,
        open_fee_bps=(a >> 32) & U16,
        close_fee_bps=(a >> 48) & U16,
        liquidation_fee_bps=(a >> 64) & U16,
        min_liquidation_reward=a >> 224,
        insurance_share_bps=(a >> 80) & U16,
        max_profit_bps=(a >> 96) & U32,
        borrow_rate=(a >> 160) & U64,
        staleness=(a >> 128) & U32,
        min_collateral=b & risk.MAX_U128,
        oi_cap=b >> 128,
    )


@internal
def _store_params(market_id: uint256, p: MarketParams):
    """
    @dev Packs a market's parameters. _check_params bounds every field
         within its width, so nothing spills.
    @param market_id The market id.
    @param p Parameters that passed _check_params.
    """
    self.market_risk[market_id] = (
        p.initial_margin_bps
        | (p.maintenance_margin_bps << 16)
        | (p.open_fee_bps << 32)
        | (p.close_fee_bps << 48)
        | (p.liquidation_fee_bps << 64)
        | (p.insurance_share_bps << 80)
        | (p.max_profit_bps << 96)
        | (p.staleness << 128)
        | (p.borrow_rate << 160)
        | (p.min_liquidation_reward << 224)
    )
    self.market_limits[market_id] = p.min_collateral | (p.oi_cap << 128)


@internal
@pure
def _check_params(p: MarketParams):
    """
    @dev Bounds every parameter, in field order so the first bad field
         names the revert. The bounds keep each field within its packed
         width and every liquidation payable and worth sending: a non-zero
         fee no larger than the maintenance margin, and a minimum
         collateral no smaller than the reward floor, since every position
         holds the minimum after each change its trader makes (the floor is
         paid in full unless the owner later raises it past a position's
         collateral: then the reward is the whole collateral). A field
         bounded by an earlier one carries that check and its reason. A
         floor of 0 leaves the bps fee alone.
    @param p The proposed parameters.
    """
    assert p.initial_margin_bps >= MIN_INITIAL_MARGIN_BPS and p.initial_margin_bps <= risk.BPS, "params: initial margin out of bounds"
    assert p.maintenance_margin_bps != 0 and p.maintenance_margin_bps < p.initial_margin_bps, "params: maintenance margin out of bounds"
    assert p.open_fee_bps <= MAX_FEE_BPS, "params: open fee out of bounds"
    assert p.close_fee_bps <= MAX_FEE_BPS, "params: close fee out of bounds"
    assert p.liquidation_fee_bps != 0 and p.liquidation_fee_bps <= MAX_LIQUIDATION_FEE_BPS and p.liquidation_fee_bps <= p.maintenance_margin_bps, "params: liquidation fee out of bounds"
    assert p.min_liquidation_reward <= MAX_MIN_LIQUIDATION_REWARD, "params: min liquidation reward out of bounds"
    assert p.insurance_share_bps <= risk.BPS, "params: insurance share out of bounds"
    assert p.max_profit_bps != 0 and p.max_profit_bps <= MAX_MAX_PROFIT_BPS, "params: max profit out of bounds"
    assert p.borrow_rate <= MAX_BORROW_RATE, "params: borrow rate out of bounds"
    assert p.staleness != 0 and p.staleness <= MAX_STALENESS, "params: staleness out of bounds"
    assert p.min_collateral != 0 and p.min_collateral >= p.min_liquidation_reward and p.min_collateral <= risk.MAX_U128, "params: min collateral out of bounds"
    assert p.oi_cap != 0 and p.oi_cap <= risk.MAX_U128, "params: open interest cap out of bounds"


@internal
@view
def _feed_decimals(feed: address) -> (bool, uint256):
    """
    @dev A feed's decimals(), or False if it has no code, reverts or
         answers out of range: the governance checks give their own
         reason rather than bubbling up nothing.
    @param feed The feed.
    @return bool Whether it answered.
    @return uint256 Its decimals.
    """
    ok: bool = False
    res: Bytes[32] = b""
    ok, res = raw_call(feed, method_id("decimals()"), max_outsize=32, is_static_call=True, revert_on_failure=False)
    if not ok or len(res) != 32 or convert(res, uint256) > 255:
        return False, 0
    return True, convert(res, uint256)


@internal
@view
def _feed_answer(feed: address) -> int256:
    """
    @dev A feed's latest answer, whatever its age, or 0 if it has no code,
         reverts or answers malformed data (0 is never a usable answer).
    @param feed The feed.
    @return int256 The answer.
    """
    ok: bool = False
    res: Bytes[160] = b""
    ok, res = raw_call(feed, method_id("latestRoundData()"), max_outsize=160, is_static_call=True, revert_on_failure=False)
    if not ok or len(res) != 160:
        return 0
    return convert(slice(res, 32, 32), int256)


@internal
@view
def _check_feed(feed: address):
    """
    @dev What a market's feed must be, at listing and at every change: a
         contract that answers decimals(), at most MAX_FEED_DECIMALS.
    @param feed The feed.
    """
    assert feed != empty(address), "params: zero feed"
    ok: bool = False
    decimals: uint256 = 0
    ok, decimals = self._feed_decimals(feed)
    assert ok, "feed: no decimals() answer"
    assert decimals <= MAX_FEED_DECIMALS, "feed: more than 18 decimals"


@internal
@view
def _check_feed_change(old_feed: address, new_feed: address):
    """
    @dev A market's move to another feed: the same decimals as the feed
         it replaces (prices are stored and compared in the feed's
         decimals: 8 to 18 would make every long a max-profit winner), a
         positive answer, within MAX_FEED_MOVE_BPS of the old feed's
         latest answer. When the old feed answers nothing usable (the
         usual reason to migrate) there is nothing to bound against: the
         timelock's delay is then the only guard, and the README says so.
    @param old_feed The market's current feed.
    @param new_feed The proposed feed.
    """
    self._check_feed(new_feed)
    ok: bool = False
    new_decimals: uint256 = 0
    # _check_feed has just seen the new feed answer.
    ok, new_decimals = self._feed_decimals(new_feed)
    old_decimals: uint256 = 0
    ok, old_decimals = self._feed_decimals(old_feed)
    assert ok and old_decimals == new_decimals, "feed: decimals differ from the market's feed"
    new_answer: int256 = self._feed_answer(new_feed)
    assert new_answer > 0, "feed: no positive answer"
    old_answer: int256 = self._feed_answer(old_feed)
    if old_answer > 0:
        gap: uint256 = convert(max(new_answer - old_answer, old_answer - new_answer), uint256)
        assert gap * risk.BPS <= convert(old_answer, uint256) * MAX_FEED_MOVE_BPS, "feed: answer too far from the market's feed"


@internal
@pure
def _min_collateral(collateral: uint256, p: MarketParams):
    """
    @dev Holds after every change a trader makes, so a liquidation always
         has collateral to pay its liquidator from: at least
         min_liquidation_reward, which _check_params keeps <= min_collateral.
    @param collateral The position's collateral after the change.
    @param p The market's parameters.
    """
    assert collateral >= p.min_collateral, "engine: collateral below minimum"


@internal
@view
def _listed(market_id: uint256):
    """
    @dev A market is listed once it has a feed; feeds are never unset.
    @param market_id The market id.
    """
    assert self.market_feed[market_id] != empty(address), "engine: unknown market"


@internal
def _accrue(market_id: uint256, borrow_rate: uint256) -> uint256:
    """
    @dev Brings the stored borrow index up to now. Every trade accrues
         before it reads the index, so fees charged so far keep the rate
         they accrued at.
    @param market_id The market id.
    @param borrow_rate The market's borrow rate per second (1e18 scale).
    @return uint256 The current borrow index.
    """
    packed: uint256 = self.market_index[market_id]
    index: uint256 = packed & risk.MAX_U128
    last: uint256 = packed >> 128
    if block.timestamp > last:
        index += borrow_rate * (block.timestamp - last)
        assert index <= risk.MAX_U128, "engine: borrow index overflow"
        self.market_index[market_id] = index | (block.timestamp << 128)
        log BorrowIndexAccrued(market_id=market_id, borrow_index=index, timestamp=block.timestamp)
    return index


@internal
@view
def _current_index(market_id: uint256, borrow_rate: uint256) -> uint256:
    """
    @dev The borrow index _accrue would return now, without writing it, for
         views.
    @param market_id The market id.
    @param borrow_rate The market's borrow rate per second (1e18 scale).
    @return uint256 The current borrow index.
    """
    packed: uint256 = self.market_index[market_id]
    return self._index_at(packed & risk.MAX_U128, packed >> 128, borrow_rate, block.timestamp)


@internal
@pure
def _index_at(borrow_index: uint256, last_accrual: uint256, borrow_rate: uint256, timestamp: uint256) -> uint256:
    """
    @dev The borrow index at `timestamp` from the stored one: pure, so that
         Lens (which holds no market state) applies the engine's rule.
    @param borrow_index The stored index.
    @param last_accrual When it was stored.
    @param borrow_rate The market's borrow rate per second (1e18 scale).
    @param timestamp The block time.
    @return uint256 The index then.
    """
    if timestamp > last_accrual:
        return borrow_index + borrow_rate * (timestamp - last_accrual)
    return borrow_index


@internal
@pure
def _checked_price(answer: int256, updated_at: uint256, staleness: uint256, timestamp: uint256) -> uint256:
    """
    @dev A feed's answer as the engine takes it, or the engine's reason for
         refusing it: pure, so that Lens applies the same checks.
    @param answer The round's answer.
    @param updated_at The round's updatedAt.
    @param staleness The oldest answer accepted, in seconds.
    @param timestamp The block time.
    @return uint256 The price, in the feed's decimals.
    """
    assert answer > 0, "oracle: price not positive"
    assert updated_at + staleness >= timestamp, "oracle: price is stale"
    assert convert(answer, uint256) <= risk.MAX_U128, "oracle: price out of range"
    return convert(answer, uint256)


@internal
@view
def _round(market_id: uint256) -> (int256, uint256):
    """
    @dev The market's feed's latest answer and when it was published, as
         read, unchecked.
    @param market_id The market id.
    @return int256 The round's answer.
    @return uint256 The round's updatedAt.
    """
    feed: address = self.market_feed[market_id]
    assert feed != empty(address), "engine: unknown market"
    answer: int256 = 0
    updated_at: uint256 = 0
    _: uint80 = 0
    __: uint256 = 0
    ___: uint80 = 0
    _, answer, __, updated_at, ___ = staticcall AggregatorV3(feed).latestRoundData()
    return answer, updated_at


# @dev MarketRules.feed_round: _feed_round, run outside the engine (the
# raw call and its decoding would cost the engine 800 of its EIP-170 bytes).
interface IFeedRound:
    def feed_round(feed: address) -> (bool, int256, uint256): view


@internal
@view
def _feed_round(feed: address) -> (bool, int256, uint256):
    """
    @dev A feed's latest round without reverting: False when the feed
         reverts or answers anything but latestRoundData's five words.
    @param feed The feed.
    @return bool Whether the feed answered.
    @return int256 The round's answer.
    @return uint256 The round's updatedAt.
    """
    ok: bool = False
    response: Bytes[160] = b""
    ok, response = raw_call(
        feed, method_id("latestRoundData()"), max_outsize=160, is_static_call=True, revert_on_failure=False
    )
    if not ok or len(response) != 160:
        return False, 0, 0
    answer: int256 = 0
    updated_at: uint256 = 0
    _: uint80 = 0
    __: uint256 = 0
    ___: uint80 = 0
    _, answer, __, updated_at, ___ = abi_decode(response, (uint80, int256, uint256, uint256, uint80))
    return True, answer, updated_at


@internal
@pure
def _positive(ok: bool, answer: int256) -> bool:
    """
    @dev Whether a feed answered a price a position can take: positive and
         within 128 bits.
    @param ok Whether the feed answered.
    @param answer The round's answer.
    @return bool True for such an answer.
    """
    return ok and answer > 0 and answer <= convert(risk.MAX_U128, int256)


@internal
@pure
def _usable(ok: bool, answer: int256, updated_at: uint256, staleness: uint256, timestamp: uint256) -> bool:
    """
    @dev Whether a feed's read is one _checked_price accepts.
    @param ok Whether the feed answered.
    @param answer The round's answer.
    @param updated_at The round's updatedAt.
    @param staleness The oldest answer accepted, in seconds.
    @param timestamp The block time.
    @return bool True when the round is positive, in range and fresh.
    """
    return self._positive(ok, answer) and updated_at + staleness >= timestamp


@internal
@pure
def _fallback_price(
    ok: bool, answer: int256, updated_at: uint256, last: uint256, staleness: uint256, timestamp: uint256
) -> uint256:
    """
    @dev The last good price an exit takes on a feed with no usable round
         for ORACLE_FALLBACK_DELAY, 0 before (pure: Lens.health applies it
         too). A positive round is the feed's own last good one, stale from
         its updatedAt + staleness on; otherwise the engine's record
         (market_last_price), stale from its own time + staleness on, or
         from the bad round's updatedAt if later.
    @param ok Whether the feed answered.
    @param answer The round's answer.
    @param updated_at The round's updatedAt.
    @param last The market's market_last_price.
    @param staleness The oldest answer accepted, in seconds.
    @param timestamp The block time.
    @return uint256 The price, or 0 when there is none to fall back on yet.
    """
    if self._usable(ok, answer, updated_at, staleness, timestamp):
        return 0
    fallback: uint256 = last & risk.MAX_U128
    since: uint256 = (last >> 128) + staleness
    if self._positive(ok, answer):
        fallback = convert(answer, uint256)
        since = updated_at + staleness
    elif ok:
        since = max(since, updated_at)
    if timestamp > since + ORACLE_FALLBACK_DELAY:
        return fallback
    return 0


@internal
def _trade_price(
    rules: address, market_id: uint256, staleness: uint256, requested_at: uint256, is_exit: bool
) -> uint256:
    """
    @dev The price a trade fills at: only a round published after the
         order was requested, checked before the answer itself, so that a
         faulty round the trader never saw makes the order wait rather than
         be cancelled (and its execution fee taken) by whoever executes
         first. Opens, increases and decreases record the round as the
         market's last price. For an exit (a close or a
         liquidation) whose feed has had no usable round for
         ORACLE_FALLBACK_DELAY, the last good price instead, whenever the
         order was requested: the feed's latest answer when it is positive
         (only stale), else the last round a trade took (which, in a market
         nobody traded in for long, is old: README).
    @param rules The market rules (MarketRules.vy), which read the feed
           without reverting.
    @param market_id The market id.
    @param staleness The oldest answer accepted, in seconds.
    @param requested_at When the order was requested (0: no order).
    @param is_exit True for a close or a liquidation.
    @return uint256 The price, in the feed's decimals.
    """
    feed: address = self.market_feed[market_id]
    assert feed != empty(address), "engine: unknown market"
    ok: bool = False
    answer: int256 = 0
    updated_at: uint256 = 0
    ok, answer, updated_at = staticcall IFeedRound(rules).feed_round(feed)
    if is_exit:
        # Read only when the feed is unusable: a healthy exit pays nothing.
        if not self._usable(ok, answer, updated_at, staleness, block.timestamp):
            fallback: uint256 = self._fallback_price(
                ok, answer, updated_at, self.market_last_price[market_id], staleness, block.timestamp
            )
            if fallback != 0:
                return fallback
    if not ok:
        # Reverts as the feed does, as before there was a fallback.
        answer, updated_at = self._round(market_id)
    assert updated_at > requested_at, "engine: no price round after the request"
    price: uint256 = self._checked_price(answer, updated_at, staleness, block.timestamp)
    if not is_exit:
        # Opens, resizes and decreases record the round (exits need not:
        # a market with open positions has had a trade).
        recorded: uint256 = price | (min(updated_at, block.timestamp) << 128)
        if recorded != self.market_last_price[market_id]:
            self.market_last_price[market_id] = recorded
    return price


@internal
@view
def _price(market_id: uint256, staleness: uint256) -> uint256:
    """
    @dev The market's oracle price from any fresh round (liquidation,
         collateral removal, views), refused when not positive, older than
         `staleness` or too wide to pack into 128 bits.
    @param market_id The market id.
    @param staleness The oldest answer accepted, in seconds.
    @return uint256 The price, in the feed's decimals.
    """
    answer: int256 = 0
    updated_at: uint256 = 0
    answer, updated_at = self._round(market_id)
    return self._checked_price(answer, updated_at, staleness, block.timestamp)


@internal
def _add_open_interest(market_id: uint256, is_long: bool, amount: uint256, increase: bool):
    """
    @dev Moves one side's open interest. Both sides stay within
         oi_cap <= 2**128 - 1, so the packing cannot spill; a decrease
         below zero reverts (checked arithmetic).
    @param market_id The market id.
    @param is_long The side: True for longs.
    @param amount The notional added or removed.
    @param increase True to add, False to remove.
    """
    oi: uint256 = self.market_oi[market_id]
    long: uint256 = oi & risk.MAX_U128
    short: uint256 = oi >> 128
    if is_long:
        long = long + amount if increase else long - amount
    else:
        short = short + amount if increase else short - amount
    self.market_oi[market_id] = long | (short << 128)


@internal
@view
def _side_open_interest(market_id: uint256, is_long: bool) -> uint256:
    """
    @dev One side's open interest, for the oi_cap check.
    @param market_id The market id.
    @param is_long The side: True for longs.
    @return uint256 The side's open interest.
    """
    oi: uint256 = self.market_oi[market_id]
    if is_long:
        return oi & risk.MAX_U128
    return oi >> 128


@internal
@view
def _state(market_id: uint256) -> MarketState:
    """
    @dev Unpacks a market's feed, open interest and stored borrow index.
    @param market_id The market id.
    @return MarketState The market's state.
    """
    oi: uint256 = self.market_oi[market_id]
    index: uint256 = self.market_index[market_id]
    return MarketState(
        feed=self.market_feed[market_id],
        oi_long=oi & risk.MAX_U128,
        oi_short=oi >> 128,
        borrow_index=index & risk.MAX_U128,
        last_accrual=index >> 128,
    )


@internal
def _list(feed: address, p: MarketParams) -> uint256:
    """
    @dev Lists a market with checked parameters; its borrow index starts at
         zero, now.
    @param feed The market's oracle (not the empty address).
    @param p Parameters that passed _check_params.
    @return uint256 The new market's id.
    """
    market_id: uint256 = self.market_count + 1
    assert market_id <= MAX_MARKETS, "params: too many markets"
    self.market_count = market_id
    self.market_feed[market_id] = feed
    self.market_index[market_id] = block.timestamp << 128
    self._store_params(market_id, p)
    return market_id
