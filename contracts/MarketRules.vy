# pragma version ~=0.4.3
"""
@title isomargin market rules: the checks on every governance write of a market
@custom:contract-name MarketRules
@notice The engine asks this contract before it lists a market, sets a
        market's parameters or moves a market to another feed, and writes
        nothing unless it answers. The rules are modules/markets.vy's
        (_check_params, _check_feed, _check_feed_change; their Python twins
        are in model/markets.py); they run here, not in the engine, because
        their revert reasons alone would cost the engine 2 KiB of its
        EIP-170 bytes. Stateless: the engine creates it (its nonce 5) and
        keeps its address as RULES. A refusal reverts with the rule's own
        reason, which the engine's call passes on. It also reads feeds for
        the engine without reverting (feed_round), for the same reason.
"""
# Only the rules and the struct: MarketRules keeps no market state.
from modules import markets


@external
@view
def check_listing(feed: address, params: markets.MarketParams) -> bool:
    """
    @notice Whether a market may be listed on `feed` with `params`.
    @param feed The proposed feed: a contract answering decimals(), at most 18.
    @param params The proposed parameters, within the bounds.
    @return bool True; a refusal reverts with its reason.
    """
    markets._check_feed(feed)
    markets._check_params(params)
    return True


@external
@view
def check_params(params: markets.MarketParams) -> bool:
    """
    @notice Whether a listed market may take `params`.
    @param params The proposed parameters, within the bounds.
    @return bool True; a refusal reverts with its reason.
    """
    markets._check_params(params)
    return True


@external
@view
def check_feed_change(old_feed: address, new_feed: address) -> bool:
    """
    @notice Whether a market may move from `old_feed` to `new_feed`: same
            decimals, a positive answer within MAX_FEED_MOVE_BPS of the old
            feed's (unbounded only when the old feed answers nothing usable).
    @param old_feed The market's current feed.
    @param new_feed The proposed feed.
    @return bool True; a refusal reverts with its reason.
    """
    markets._check_feed_change(old_feed, new_feed)
    return True


@external
@view
def feed_round(feed: address) -> (bool, int256, uint256):
    """
    @notice A feed's latest round, without reverting: what the engine's
            closes and liquidations read to decide whether the market's
            feed is dead (markets._trade_price).
    @param feed The feed.
    @return bool False when the feed reverts or answers malformed data.
    @return int256 The round's answer (0 when it did not answer).
    @return uint256 The round's updatedAt (0 when it did not answer).
    """
    return markets._feed_round(feed)
