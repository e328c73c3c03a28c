# pragma version ~=0.4.3
"""
@title Read many token balances in one call, and positions' health
@notice Off-chain tools (the stateful harness, the keeper, the audit) read
        every holder's balance after each step; one call instead of one per
        holder keeps that cheap on a real node. `health` lives here rather
        than in the engine, whose code is at EIP-170's 24 KiB limit: it is
        computed from the engine's own views with the same risk module.
"""
from ethereum.ercs import IERC20
from interfaces import AggregatorV3
from modules import risk
from modules import positions
from modules import markets

MAX_HOLDERS: constant(uint256) = 1024


# @dev A position's health now, for keepers and front ends.
struct Health:
    price: uint256
    pnl: int256
    borrow_fee: uint256
    equity: int256
    maintenance_margin: uint256
    liquidation_price: uint256
    liquidatable: bool


interface IEngineViews:
    def position(position_id: uint256) -> positions.PositionView: view
    def market_params(market_id: uint256) -> markets.MarketParams: view
    def market_state(market_id: uint256) -> markets.MarketState: view


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
def health(engine: IEngineViews, position_id: uint256) -> Health:
    """
    @notice Equity, maintenance margin, liquidation price and liquidatability
            now, as the engine's liquidate would see them: the borrow index
            accrued to now (markets._current_index) and the oracle price with
            the engine's checks and reasons (markets._price).
    @param engine The engine.
    @param position_id An open position.
    @return Health The position's health at the current price and index.
    """
    v: positions.PositionView = staticcall engine.position(position_id)
    assert v.is_open, "engine: position not open"
    p: markets.MarketParams = staticcall engine.market_params(v.market_id)
    st: markets.MarketState = staticcall engine.market_state(v.market_id)
    index: uint256 = st.borrow_index
    if block.timestamp > st.last_accrual:
        index += p.borrow_rate * (block.timestamp - st.last_accrual)
    answer: int256 = 0
    updated_at: uint256 = 0
    _: uint80 = 0
    __: uint256 = 0
    ___: uint80 = 0
    _, answer, __, updated_at, ___ = staticcall AggregatorV3(st.feed).latestRoundData()
    assert answer > 0, "oracle: price not positive"
    assert updated_at + p.staleness >= block.timestamp, "oracle: price is stale"
    assert convert(answer, uint256) <= risk.MAX_U128, "oracle: price out of range"
    pos: risk.Position = risk.Position(
        owner=v.owner,
        market_id=v.market_id,
        is_long=v.is_long,
        max_profit_bps=v.max_profit_bps,
        generation=position_id & positions.GEN_MASK,
        is_open=True,
        size=v.size,
        collateral=v.collateral,
        entry_price=v.entry_price,
        entry_index=v.entry_index,
    )
    h: Health = empty(Health)
    h.price = convert(answer, uint256)
    h.pnl = risk._capped_pnl(pos, h.price)
    h.borrow_fee = risk._borrow_fee(pos.size, pos.entry_index, index)
    h.equity = convert(pos.collateral, int256) + h.pnl - convert(h.borrow_fee, int256)
    h.maintenance_margin = risk._fee(pos.size, p.maintenance_margin_bps)
    h.liquidation_price = risk._liquidation_price(pos, index, p.maintenance_margin_bps)
    h.liquidatable = h.equity < convert(h.maintenance_margin, int256)
    return h
