# pragma version ~=0.4.3
"""
@title Liquidity pool v2: the traders' counterparty, valued at market, async LP flows
@notice LPs own the pool's value: its cash (token balance less deposits
        still in escrow) less what open positions could claim from it now,
        pool_liability() (modules/exposure.vy: every market side's traders'
        PnL less borrow fees, clamped to their reserves and collateral,
        rounded for the traders), floored at zero. Valued at cash alone, a
        trader could deposit just before closing a losing position and
        redeem just after, taking back nearly all of the loss the pool
        booked (review finding 1), and LPs could time entries around
        traders' unrealised PnL (finding 2).
        So deposits and redemptions are ERC-7540-shaped requests: assets or
        shares go into escrow, and anyone executes the request once
        LP_REQUEST_DELAY has passed and every listed market has a price
        round newer than the request, at the value then: the requester
        cannot know the price they get. The sync ERC-4626 entry points
        revert. An optional redemption fee (REDEEM_FEE_BPS, <= 100) stays
        in the pool. Assets reserved for open positions' capped profit never
        leave. While the engine's guardian pause is on (an oracle incident),
        no request is made or executed; cancel_request always works.
        The shares are snekmate's erc20 module. snekmate's erc4626 is not
        used: its conversions call its own _total_assets (the token
        balance), which cannot be made to value the pool at market.
        Conversions keep its virtual shares and asset (DECIMALS_OFFSET):
          shares = assets * (supply + 10**6) // (value + 1)
          assets = shares * (value + 1) // (supply + 10**6)
        both rounded down, for the pool. model/pool.py is the twin.
"""
from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed
from snekmate.auth import ownable
from snekmate.tokens import erc20
from interfaces import IEngine
from interfaces import AggregatorV3
from modules import risk
from modules import markets
from modules import exposure

# snekmate's erc20 needs an owner; the engine (the deployer) holds it and
# the minter role, and nothing exported uses either.
initializes: ownable
initializes: erc20[ownable := ownable]

exports: (
    erc20.totalSupply,
    erc20.balanceOf,
    erc20.transfer,
    erc20.transferFrom,
    erc20.approve,
    erc20.allowance,
    erc20.name,
    erc20.symbol,
    erc20.decimals,
    erc20.permit,
    erc20.nonces,
    erc20.DOMAIN_SEPARATOR,
    erc20.eip712Domain,
)


# @dev A pending request: assets (deposit) or shares (redeem) in escrow.
struct LpRequest:
    is_deposit: bool
    owner: address
    controller: address
    amount: uint256
    requested_at: uint256


event DepositRequested:
    request_id: indexed(uint256)
    controller: indexed(address)
    owner: indexed(address)
    sender: address
    assets: uint256

event RedeemRequested:
    request_id: indexed(uint256)
    controller: indexed(address)
    owner: indexed(address)
    sender: address
    shares: uint256

event RequestExecuted:
    request_id: indexed(uint256)
    controller: indexed(address)
    is_deposit: bool
    assets: uint256
    shares: uint256
    fee: uint256

event RequestCancelled:
    request_id: indexed(uint256)
    owner: indexed(address)
    is_deposit: bool
    amount: uint256


ENGINE: public(immutable(IEngine))
TOKEN: immutable(IERC20)
# @dev ERC-4626 asset().
asset: public(immutable(address))
# @dev Share of redeemed assets kept by the pool, in bps (<= MAX_REDEEM_FEE_BPS).
REDEEM_FEE_BPS: public(immutable(uint256))

# snekmate's decimals offset: 10**6 virtual shares stand beside one virtual
# asset in every conversion, and the share token has the asset's decimals
# + 6 (12 for a 6-decimal USDC). Why 6: an attacker who deposits 1 unit
# first holds 10**6 shares, as many as the virtual ones, so half of any
# donation D is lost to them, and a share then costs (D + 2) / (2 * 10**6)
# units: the next depositor loses under one share's price plus one unit,
# 0.005 USDC for a 10,000 USDC donation, where offset 0 lost them 10% of a
# 20,000 USDC deposit (tests/unit/test_pool_inflation.py). Each further
# digit only divides a loss already under a cent by ten, and 6 keeps the
# share supply far from overflow (2**256 share units are ~1e65 USDC).
DECIMALS_OFFSET: public(constant(uint8)) = 6
VIRTUAL_SHARES: constant(uint256) = 10**6

# @dev Seconds between a request and its execution. The price-round rule
# is what takes the requester's information away (the price is one
# published after the request); the delay makes the two sides of a
# request different transactions and blocks, so nothing can wrap a
# deposit, a trade and a redemption in one transaction (flash loans), and
# leaves the requester a minute of market risk. 60 s is several blocks on
# any chain the engine targets and within one Chainlink heartbeat, so an
# honest LP waits about a minute, not hours.
LP_REQUEST_DELAY: public(constant(uint256)) = 60
MAX_REDEEM_FEE_BPS: public(constant(uint256)) = 100

# @dev Requests by id (ids start at 1; an executed or cancelled one is empty).
lp_requests: public(HashMap[uint256, LpRequest])
request_count: public(uint256)
# @dev Assets of pending deposit requests: in the pool's balance, not its cash.
pending_deposits: public(uint256)


@deploy
def __init__(token: IERC20, engine: IEngine, redeem_fee_bps: uint256):
    """
    @dev Deployed by the engine from a blueprint (so `engine` is its
         creator, the share token's owner and minter). The shares have the
         token's decimals + DECIMALS_OFFSET.
    @param token The collateral token, the pool's asset.
    @param engine The engine, which reserves assets and pays profits.
    @param redeem_fee_bps The redemption fee, at most MAX_REDEEM_FEE_BPS.
    """
    assert redeem_fee_bps <= MAX_REDEEM_FEE_BPS, "pool: redeem fee above maximum"
    ownable.__init__()
    erc20.__init__("isomargin LP", "imLP", staticcall IERC20Detailed(token.address).decimals() + DECIMALS_OFFSET, "isomargin LP", "1")
    ENGINE = engine
    TOKEN = token
    asset = token.address
    REDEEM_FEE_BPS = redeem_fee_bps
    # The engine pays traders' profits straight from the pool: one
    # transferFrom instead of a call into the pool and then a transfer.
    assert extcall token.approve(engine.address, max_value(uint256), default_return_value=True), "pool: approve failed"


# ---------------------------------------------------------------- valuation

@internal
@view
def _cash() -> uint256:
    """
    @dev The pool's tokens less the deposits waiting in escrow: those are
         not the LPs' yet and back no reserve.
    @return uint256 The cash.
    """
    return staticcall TOKEN.balanceOf(self) - self.pending_deposits


@internal
@view
def _liability() -> (int256, uint256):
    """
    @dev Sums exposure._claim over every listed market's two sides, at each
         feed's latest answer without a staleness check (so views never
         trap; execute_request checks the time itself) and the borrow index
         the engine would accrue to now.
    @return int256 The liability (> 0: the pool owes traders).
    @return uint256 The oldest updatedAt among the markets' latest rounds
            (max_value with no market listed).
    """
    total: int256 = 0
    oldest: uint256 = max_value(uint256)
    for market_id: uint256 in range(1, staticcall ENGINE.market_count() + 1, bound=markets.MAX_MARKETS):
        st: markets.MarketState = staticcall ENGINE.market_state(market_id)
        answer: int256 = 0
        updated_at: uint256 = 0
        _: uint80 = 0
        __: uint256 = 0
        ___: uint80 = 0
        _, answer, __, updated_at, ___ = staticcall AggregatorV3(st.feed).latestRoundData()
        assert answer > 0, "oracle: price not positive"
        oldest = min(oldest, updated_at)
        if st.oi_long | st.oi_short != 0:
            price: uint256 = convert(answer, uint256)
            rate: uint256 = (staticcall ENGINE.market_params(market_id)).borrow_rate
            index: uint256 = markets._index_at(st.borrow_index, st.last_accrual, rate, block.timestamp)
            total += exposure._claim(staticcall ENGINE.exposure(market_id, True), True, price, index)
            total += exposure._claim(staticcall ENGINE.exposure(market_id, False), False, price, index)
    return total, oldest


@internal
@pure
def _value(cash: uint256, liability: int256) -> uint256:
    """
    @dev Cash less liability, floored at zero (traders cannot be owed
         more than everything).
    @param cash The pool's cash.
    @param liability What open positions could claim.
    @return uint256 The LPs' assets.
    """
    return convert(max(convert(cash, int256) - liability, 0), uint256)


@internal
@view
def _total_assets() -> uint256:
    """
    @dev The pool's market value now.
    @return uint256 The LPs' assets.
    """
    liability: int256 = 0
    oldest: uint256 = 0
    liability, oldest = self._liability()
    return self._value(self._cash(), liability)


@internal
@view
def _to_shares(assets: uint256, worth: uint256, roundup: bool) -> uint256:
    """
    @dev assets * (supply + 10**6) / (value + 1).
    @param assets The assets.
    @param worth The pool's worth.
    @param roundup Round up (what a payer owes) instead of down.
    @return uint256 The shares.
    """
    num: uint256 = assets * (erc20.totalSupply + VIRTUAL_SHARES)
    shares: uint256 = num // (worth + 1)
    if roundup and shares * (worth + 1) != num:
        shares += 1
    return shares


@internal
@view
def _to_assets(shares: uint256, worth: uint256, roundup: bool) -> uint256:
    """
    @dev shares * (value + 1) / (supply + 10**6).
    @param shares The shares.
    @param worth The pool's worth.
    @param roundup Round up (what a payer owes) instead of down.
    @return uint256 The assets.
    """
    den: uint256 = erc20.totalSupply + VIRTUAL_SHARES
    num: uint256 = shares * (worth + 1)
    assets: uint256 = num // den
    if roundup and assets * den != num:
        assets += 1
    return assets


@internal
@view
def _redeem_fee(assets: uint256) -> uint256:
    """
    @dev The redemption fee on `assets`, rounded up (for the pool).
    @param assets The assets the shares are worth.
    @return uint256 The fee.
    """
    return (assets * REDEEM_FEE_BPS + risk.BPS - 1) // risk.BPS


@internal
@view
def _free_assets() -> uint256:
    """
    @dev Cash above what the engine reserves for open positions' maximum
         profit; zero when the reserve exceeds it.
    @return uint256 The assets a redemption may pay out.
    """
    cash: uint256 = self._cash()
    reserved: uint256 = staticcall ENGINE.total_reserved()
    if cash <= reserved:
        return 0
    return cash - reserved


@external
@view
def cash() -> uint256:
    """
    @notice The pool's token balance less deposits still in escrow; the
            engine's reserve check uses it.
    @return uint256 The cash.
    """
    return self._cash()


@external
@view
def pool_liability() -> (int256, uint256):
    """
    @notice What open positions could claim from the pool at the latest
            prices (> 0: the pool owes traders).
    @dev Reverts "oracle: price not positive" on a bad answer, never for a
         stale one.
    @return int256 The liability, clamped per market side (exposure.vy).
    @return uint256 The oldest updatedAt among every listed market's latest
            round (max_value with no market listed).
    """
    return self._liability()


@external
@view
def free_assets() -> uint256:
    """
    @notice Cash not reserved for open positions' maximum profit.
    @return uint256 The most redemptions may pay out now, across all LPs.
    """
    return self._free_assets()


@external
@view
def totalAssets() -> uint256:
    """
    @notice ERC-4626 totalAssets: the pool's market value.
    @return uint256 Cash less liability, floored at zero.
    """
    return self._total_assets()


@external
@view
def convertToShares(assets: uint256) -> uint256:
    """
    @notice ERC-4626 convertToShares at market value, rounded down.
    @param assets The assets.
    @return uint256 The shares.
    """
    return self._to_shares(assets, self._total_assets(), False)


@external
@view
def convertToAssets(shares: uint256) -> uint256:
    """
    @notice ERC-4626 convertToAssets at market value, rounded down.
    @param shares The shares.
    @return uint256 The assets.
    """
    return self._to_assets(shares, self._total_assets(), False)


@external
@view
def previewDeposit(assets: uint256) -> uint256:
    """
    @notice The shares a deposit of `assets` would get at today's value
            (an executed request gets the value at its execution).
    @param assets The assets.
    @return uint256 The shares, rounded down.
    """
    return self._to_shares(assets, self._total_assets(), False)


@external
@view
def previewMint(shares: uint256) -> uint256:
    """
    @notice The assets `shares` would cost at today's value.
    @param shares The shares.
    @return uint256 The assets, rounded up.
    """
    return self._to_assets(shares, self._total_assets(), True)


@external
@view
def previewWithdraw(assets: uint256) -> uint256:
    """
    @notice The shares that pay out `assets` after the redemption fee at
            today's value.
    @param assets The assets to receive.
    @return uint256 The shares, rounded up.
    """
    gross: uint256 = (assets * risk.BPS + risk.BPS - REDEEM_FEE_BPS - 1) // (risk.BPS - REDEEM_FEE_BPS)
    return self._to_shares(gross, self._total_assets(), True)


@external
@view
def previewRedeem(shares: uint256) -> uint256:
    """
    @notice What redeeming `shares` would pay out at today's value, after
            the redemption fee.
    @param shares The shares.
    @return uint256 The assets, rounded down.
    """
    assets: uint256 = self._to_assets(shares, self._total_assets(), False)
    return assets - self._redeem_fee(assets)


@external
@view
def maxDeposit(receiver: address) -> uint256:
    """
    @notice ERC-4626: 0, deposit() is disabled (use requestDeposit).
    @param receiver Unused.
    @return uint256 Zero.
    """
    return 0


@external
@view
def maxMint(receiver: address) -> uint256:
    """
    @notice ERC-4626: 0, mint() is disabled (use requestDeposit).
    @param receiver Unused.
    @return uint256 Zero.
    """
    return 0


@external
@view
def maxWithdraw(owner: address) -> uint256:
    """
    @notice ERC-4626: 0, withdraw() is disabled (use requestRedeem).
    @param owner Unused.
    @return uint256 Zero.
    """
    return 0


@external
@view
def maxRedeem(owner: address) -> uint256:
    """
    @notice ERC-4626: 0, redeem() is disabled (use requestRedeem).
    @param owner Unused.
    @return uint256 Zero.
    """
    return 0


# ---------------------------------------------------------------- sync ERC-4626: disabled

@external
def deposit(assets: uint256, receiver: address) -> uint256:
    """
    @notice Disabled: deposits are requests (requestDeposit).
    @param assets Unused.
    @param receiver Unused.
    @return uint256 Never returns.
    """
    raise "pool: deposits and redemptions are asynchronous, use requestDeposit/requestRedeem"


@external
def mint(shares: uint256, receiver: address) -> uint256:
    """
    @notice Disabled: deposits are requests (requestDeposit).
    @param shares Unused.
    @param receiver Unused.
    @return uint256 Never returns.
    """
    raise "pool: deposits and redemptions are asynchronous, use requestDeposit/requestRedeem"


@external
def withdraw(assets: uint256, receiver: address, owner: address) -> uint256:
    """
    @notice Disabled: redemptions are requests (requestRedeem).
    @param assets Unused.
    @param receiver Unused.
    @param owner Unused.
    @return uint256 Never returns.
    """
    raise "pool: deposits and redemptions are asynchronous, use requestDeposit/requestRedeem"


@external
def redeem(shares: uint256, receiver: address, owner: address) -> uint256:
    """
    @notice Disabled: redemptions are requests (requestRedeem).
    @param shares Unused.
    @param receiver Unused.
    @param owner Unused.
    @return uint256 Never returns.
    """
    raise "pool: deposits and redemptions are asynchronous, use requestDeposit/requestRedeem"


# ---------------------------------------------------------------- async requests

@internal
def _new_request(is_deposit: bool, amount: uint256, controller: address, owner: address) -> uint256:
    """
    @dev Records a request made now.
    @param is_deposit True for a deposit (assets), False for a redeem (shares).
    @param amount The escrowed amount.
    @param controller Who gets the shares or assets.
    @param owner Who escrowed them, and gets them back on cancel.
    @return uint256 The request id.
    """
    request_id: uint256 = self.request_count + 1
    self.request_count = request_id
    self.lp_requests[request_id] = LpRequest(
        is_deposit=is_deposit, owner=owner, controller=controller, amount=amount, requested_at=block.timestamp
    )
    return request_id


@internal
@view
def _check_not_paused():
    """
    @notice New LP requests wait while the protocol is paused.
    @dev Throws "pool: paused" while the engine's guardian pause is on
         (Engine.paused(), read from the engine: one flag for the whole
         protocol). The pause is for an oracle incident: a request made
         then would be executed at a value computed off the bad rounds, so
         new deposit and redeem requests wait with their execution.
         Nothing an LP already escrowed is held: cancel_request stays open,
         so every pending request's assets or shares can come back.
    """
    assert not staticcall ENGINE.paused(), "pool: paused"


@external
@nonreentrant
def requestDeposit(assets: uint256, controller: address, owner: address) -> uint256:
    """
    @notice Escrow `assets` for shares at the pool's value when the request
            is executed (after LP_REQUEST_DELAY and a fresh price round of
            every market). The token must transfer exactly. Refused while
            the engine is paused ("pool: paused"): see _check_not_paused.
    @param assets The assets, pulled from `owner` (who must be the caller).
    @param controller Who gets the shares.
    @param owner Who pays, and gets the assets back on cancel.
    @return uint256 The request id.
    """
    self._check_not_paused()
    assert owner == msg.sender, "pool: owner must be the caller"
    assert controller != empty(address), "pool: zero controller"
    assert assets != 0, "pool: zero assets"
    before: uint256 = staticcall TOKEN.balanceOf(self)
    assert extcall TOKEN.transferFrom(owner, self, assets, default_return_value=True), "pool: transfer failed"
    assert staticcall TOKEN.balanceOf(self) == before + assets, "pool: token transfer not exact"
    self.pending_deposits += assets
    request_id: uint256 = self._new_request(True, assets, controller, owner)
    log DepositRequested(request_id=request_id, controller=controller, owner=owner, sender=msg.sender, assets=assets)
    return request_id


@external
@nonreentrant
def requestRedeem(shares: uint256, controller: address, owner: address) -> uint256:
    """
    @notice Escrow `shares` for assets at the pool's value when the request
            is executed, less the redemption fee. Refused while the engine
            is paused ("pool: paused"): the shares stay with their owner,
            and keep their claim on the pool, until the owner unpauses.
    @param shares The shares, moved from `owner` into the pool.
    @param controller Who gets the assets.
    @param owner Whose shares (the caller, or who approved it).
    @return uint256 The request id.
    """
    self._check_not_paused()
    assert controller != empty(address), "pool: zero controller"
    assert shares != 0, "pool: zero shares"
    if msg.sender != owner:
        erc20._spend_allowance(owner, msg.sender, shares)
    erc20._transfer(owner, self, shares)
    request_id: uint256 = self._new_request(False, shares, controller, owner)
    log RedeemRequested(request_id=request_id, controller=controller, owner=owner, sender=msg.sender, shares=shares)
    return request_id


@external
@nonreentrant
def execute_request(request_id: uint256):
    """
    @notice Anyone (a keeper) executes a pending request once
            LP_REQUEST_DELAY has passed and every listed market has a price
            round newer than the request. A deposit mints shares to its
            controller; a redeem burns its shares and pays the controller
            their value less REDEEM_FEE_BPS, which stays in the pool. A
            redeem beyond the free assets stays pending, and so does every
            request while the engine is paused ("pool: paused, executions
            wait"): it executes after the unpause, or its owner or
            controller cancels it meanwhile.
    @param request_id The request.
    """
    r: LpRequest = self.lp_requests[request_id]
    assert r.amount != 0, "pool: no pending request"
    # The guardian's pause (an oracle incident, say) holds LP executions:
    # shares priced off a bad round would move value between LPs. The
    # request stays pending, not refunded: cancelling is its owner's
    # choice (cancel_request is never paused). New requests are refused
    # (_check_not_paused); closes and liquidations are never held.
    assert not staticcall ENGINE.paused(), "pool: paused, executions wait"
    assert block.timestamp >= r.requested_at + LP_REQUEST_DELAY, "pool: request delay not over"
    liability: int256 = 0
    oldest: uint256 = 0
    liability, oldest = self._liability()
    assert oldest > r.requested_at, "pool: wait for every market's price round after the request"
    # This request's own deposit is still escrowed, so not in the cash.
    worth: uint256 = self._value(self._cash(), liability)
    if r.is_deposit:
        shares: uint256 = self._to_shares(r.amount, worth, False)
        assert shares != 0, "pool: zero shares"
        self.lp_requests[request_id] = empty(LpRequest)
        self.pending_deposits -= r.amount
        erc20._mint(r.controller, shares)
        log RequestExecuted(request_id=request_id, controller=r.controller, is_deposit=True, assets=r.amount, shares=shares, fee=0)
    else:
        assets: uint256 = self._to_assets(r.amount, worth, False)
        assert assets != 0, "pool: zero assets"
        fee: uint256 = self._redeem_fee(assets)
        assert assets - fee <= self._free_assets(), "pool: assets reserved for open positions"
        self.lp_requests[request_id] = empty(LpRequest)
        erc20._burn(self, r.amount)
        assert extcall TOKEN.transfer(r.controller, assets - fee, default_return_value=True), "pool: transfer failed"
        log RequestExecuted(request_id=request_id, controller=r.controller, is_deposit=False, assets=assets - fee, shares=r.amount, fee=fee)


@external
@nonreentrant
def cancel_request(request_id: uint256):
    """
    @notice The request's owner or controller takes it back before it is
            executed: the escrowed assets or shares return to the owner.
            Works while the engine is paused: the pause holds LP flows,
            never an LP's escrow.
    @param request_id The request.
    """
    r: LpRequest = self.lp_requests[request_id]
    assert r.amount != 0, "pool: no pending request"
    assert msg.sender == r.owner or msg.sender == r.controller, "pool: not the request's owner or controller"
    self.lp_requests[request_id] = empty(LpRequest)
    if r.is_deposit:
        self.pending_deposits -= r.amount
        assert extcall TOKEN.transfer(r.owner, r.amount, default_return_value=True), "pool: transfer failed"
    else:
        erc20._transfer(self, r.owner, r.amount)
    log RequestCancelled(request_id=request_id, owner=r.owner, is_deposit=r.is_deposit, amount=r.amount)


@external
@view
def pendingDepositRequest(request_id: uint256, controller: address) -> uint256:
    """
    @notice ERC-7540: the assets of a pending deposit request of `controller`.
    @param request_id The request.
    @param controller Its controller.
    @return uint256 The escrowed assets (0 if none).
    """
    r: LpRequest = self.lp_requests[request_id]
    if r.is_deposit and r.controller == controller:
        return r.amount
    return 0


@external
@view
def pendingRedeemRequest(request_id: uint256, controller: address) -> uint256:
    """
    @notice ERC-7540: the shares of a pending redeem request of `controller`.
    @param request_id The request.
    @param controller Its controller.
    @return uint256 The escrowed shares (0 if none).
    """
    r: LpRequest = self.lp_requests[request_id]
    if not r.is_deposit and r.controller == controller:
        return r.amount
    return 0
