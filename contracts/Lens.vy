# pragma version ~=0.4.3
"""
@title Read-only views for tools and front ends, outside the engine
@notice Off-chain tools (the stateful harness, the keeper, the audit) read
        every holder's balance after each step; one call instead of one per
        holder keeps that cheap on a real node. A position's health and the
        protocol's totals live here too, not in the engine: they are views
        the engine's own rules never call, and the engine's runtime code
        must stay under EIP-170's 24,576 bytes. Health uses the engine's
        risk module (pure math), so it applies exactly the engine's rules.
"""
from ethereum.ercs import IERC20
from interfaces import AggregatorV3
from modules import risk
# Only the structs of these two: Lens keeps no engine state.
from modules import positions
from modules import markets

MAX_HOLDERS: constant(uint256) = 1024


# @dev What Lens needs of an engine: its public views.
interface IEngine:
    def position(position_id: uint256) -> positions.PositionView: view
    def market_params(market_id: uint256) -> markets.MarketParams: view
    def market_state(market_id: uint256) -> markets.MarketState: view
    def slot(slot: uint256) -> positions.PositionView: view
    def TOKEN() -> IERC20: view
    def POOL() -> address: view
    def INSURANCE() -> address: view
    def total_reserved() -> uint256: view
    def open_positions() -> uint256: view
    def vault_count() -> uint256: view
    def market_count() -> uint256: view
    def paused() -> bool: view
    def RULES() -> address: view
    def market_last_price(market_id: uint256) -> uint256: view


# @dev A position's health now, for keepers and front ends. The liquidation
# price counts the profit cap and the borrow fee so far; it is the last
# healthy price (a long is liquidatable one unit below it, a short one unit
# above). It is 0 exactly when one of the two flags, never both, says the
# position is liquidatable at every price a feed can give (1 to 2**128 - 1)
# or at none; only with both flags false does the price mean anything.
struct Health:
    price: uint256
    pnl: int256
    borrow_fee: uint256
    equity: int256
    maintenance_margin: uint256
    liquidation_price: uint256
    liquidatable: bool
    liquidatable_at_any_price: bool
    liquidatable_at_no_price: bool
    # The feed has been dead for ORACLE_FALLBACK_DELAY: price is the last
    # good one, which closes and liquidations settle at.
    at_last_good_price: bool


# @dev Protocol-wide totals in one call.
struct Totals:
    pool_assets: uint256
    pool_shares: uint256
    total_reserved: uint256
    insurance_assets: uint256
    open_positions: uint256
    vault_count: uint256
    market_count: uint256
    paused: bool


@external
@view
def balances(token: IERC20, holders: DynArray[address, MAX_HOLDERS]) -> DynArray[uint256, MAX_HOLDERS]:
    """
    @notice Every holder's token balance, in the order given.
    @param token The token.
    @param holders Up to MAX_HOLDERS accounts.
    @return DynArray The balances, one per holder.
    """
    out: DynArray[uint256, MAX_HOLDERS] = []
    for holder: address in holders:
        out.append(staticcall token.balanceOf(holder))
    return out


@external
@view
def health(engine: IEngine, position_id: uint256) -> Health:
    """
    @notice Equity, maintenance margin, liquidation price and liquidatability
            now, at the engine's price (a dead feed's last good price once
            the fallback applies: at_last_good_price) and borrow index. The liquidation
            price is the last healthy one, the profit cap included, and
            means something only when neither liquidatable_at_any_price
            nor liquidatable_at_no_price is set (it is 0 when one is).
    @param engine The engine.
    @param position_id An open position.
    @return Health The position's health.
    """
    v: positions.PositionView = staticcall engine.position(position_id)
    # The engine's own reason for an id that is not an open position.
    assert v.is_open, "engine: position not open"
    pos: risk.Position = risk.Position(
        owner=v.owner,
        market_id=v.market_id,
        is_long=v.is_long,
        max_profit_bps=v.max_profit_bps,
        maintenance_margin_bps=v.maintenance_margin_bps,
        liquidation_fee_bps=v.liquidation_fee_bps,
        generation=position_id & positions.GEN_MASK,
        is_open=True,
        size=v.size,
        collateral=v.collateral,
        entry_price=v.entry_price,
        entry_index=v.entry_index,
    )
    p: markets.MarketParams = staticcall engine.market_params(v.market_id)
    # The position's own margin (from its last resize), as liquidate uses.
    mm_bps: uint256 = v.maintenance_margin_bps
    st: markets.MarketState = staticcall engine.market_state(v.market_id)
    # The engine's own rules for the index and the price (markets' pure
    # helpers), applied to what its views say.
    index: uint256 = markets._index_at(st.borrow_index, st.last_accrual, p.borrow_rate, block.timestamp)
    # The engine's exit price: its feed's round, or the last good price
    # once the feed has been dead for the fallback delay.
    ok: bool = False
    answer: int256 = 0
    updated_at: uint256 = 0
    ok, answer, updated_at = staticcall markets.IFeedRound(staticcall engine.RULES()).feed_round(st.feed)
    h: Health = empty(Health)
    h.price = markets._fallback_price(
        ok, answer, updated_at, staticcall engine.market_last_price(v.market_id), p.staleness, block.timestamp
    )
    h.at_last_good_price = h.price != 0
    if not h.at_last_good_price:
        if not ok:
            # Reverts as the feed does, as the engine's read then does.
            _: uint80 = 0
            __: uint256 = 0
            ___: uint80 = 0
            _, answer, __, updated_at, ___ = staticcall AggregatorV3(st.feed).latestRoundData()
        h.price = markets._checked_price(answer, updated_at, p.staleness, block.timestamp)
    h.pnl = risk._capped_pnl(pos, h.price)
    h.borrow_fee = risk._borrow_fee(pos.size, pos.entry_index, index)
    h.equity = convert(pos.collateral, int256) + h.pnl - convert(h.borrow_fee, int256)
    h.maintenance_margin = risk._fee(pos.size, mm_bps)
    h.liquidation_price, h.liquidatable_at_any_price, h.liquidatable_at_no_price = risk._liquidation_bounds(pos, index, mm_bps)
    h.liquidatable = h.equity < convert(h.maintenance_margin, int256)
    return h


@external
@view
def totals(engine: IEngine) -> Totals:
    """
    @notice Protocol-wide totals in one call.
    @param engine The engine.
    @return Totals Pool assets and shares, reserves, insurance, counters, pause.
    """
    token: IERC20 = staticcall engine.TOKEN()
    pool: address = staticcall engine.POOL()
    return Totals(
        pool_assets=staticcall token.balanceOf(pool),
        pool_shares=staticcall IERC20(pool).totalSupply(),
        total_reserved=staticcall engine.total_reserved(),
        insurance_assets=staticcall token.balanceOf(staticcall engine.INSURANCE()),
        open_positions=staticcall engine.open_positions(),
        vault_count=staticcall engine.vault_count(),
        market_count=staticcall engine.market_count(),
        paused=staticcall engine.paused(),
    )


@external
@view
def slots(engine: IEngine, first: uint256, count: uint256) -> DynArray[positions.PositionView, positions.MAX_PAGE]:
    """
    @notice A page of the engine's vault slots with their current positions,
            in one call.
    @param engine The engine.
    @param first The first slot (slots start at 1).
    @param count How many slots, at most MAX_PAGE.
    @return DynArray The slots from `first` that exist, up to `count`.
    """
    page: DynArray[positions.PositionView, positions.MAX_PAGE] = []
    vault_count: uint256 = staticcall engine.vault_count()
    if first > vault_count:
        return page
    # From slot 1 at the least: slot 0 does not exist (the engine refuses it).
    last: uint256 = min(max(first, 1) + min(count, positions.MAX_PAGE), vault_count + 1)
    for s: uint256 in range(max(first, 1), last, bound=positions.MAX_PAGE):
        page.append(staticcall engine.slot(s))
    return page
