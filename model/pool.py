"""Twin of contracts/LiquidityPool.vy v2: valued at market, async LP flows.

The share token is a snekmate ERC20 of its own (`shares`, at the pool's
address): its Transfer/Approval events are the pool's, as on chain. Its
decimals are the token's plus DECIMALS_OFFSET. Value = cash (balance less
escrowed deposits) less pool_liability(), floored at 0; deposits and
redemptions are requests executed after LP_REQUEST_DELAY and a price round
of every market newer than the request (the contract's notice says why).
While the engine is paused no request is made ("pool: paused") or executed
("pool: paused, executions wait"); cancel_request always works.
"""
from dataclasses import dataclass

from .env import ZERO_ADDRESS
from .errors import Revert, checked, require
from .events import Event
from .exposure import _claim
from .journal import Contract, Journal, external
from .markets import _index_at
from .risk import BPS
from .token import MAX_UINT256, Token

# Twin of LiquidityPool.DECIMALS_OFFSET (why 6: the comment there).
DECIMALS_OFFSET = 6
VIRTUAL_SHARES = 10**6
LP_REQUEST_DELAY = 60
MAX_REDEEM_FEE_BPS = 100
SYNC_DISABLED = "pool: deposits and redemptions are asynchronous, use requestDeposit/requestRedeem"


@dataclass(frozen=True)
class LpRequest:
    is_deposit: bool = False
    owner: str = ZERO_ADDRESS
    controller: str = ZERO_ADDRESS
    amount: int = 0
    requested_at: int = 0


@dataclass(frozen=True, slots=True)
class DepositRequested(Event):
    request_id: int
    controller: str
    owner: str
    sender: str
    assets: int


@dataclass(frozen=True, slots=True)
class RedeemRequested(Event):
    request_id: int
    controller: str
    owner: str
    sender: str
    shares: int


@dataclass(frozen=True, slots=True)
class RequestExecuted(Event):
    request_id: int
    controller: str
    is_deposit: bool
    assets: int
    shares: int
    fee: int


@dataclass(frozen=True, slots=True)
class RequestCancelled(Event):
    request_id: int
    owner: str
    is_deposit: bool
    amount: int


class LiquidityPool(Contract):
    DECIMALS_OFFSET = DECIMALS_OFFSET   # the contract's public constants
    LP_REQUEST_DELAY = LP_REQUEST_DELAY
    MAX_REDEEM_FEE_BPS = MAX_REDEEM_FEE_BPS

    def __init__(self, journal: Journal, address: str, token: Token, engine, redeem_fee_bps: int = 0):
        """The engine deploys the pool: it is the share token's owner and minter."""
        super().__init__(journal)
        require(redeem_fee_bps <= MAX_REDEEM_FEE_BPS, "pool: redeem fee above maximum")
        self.address = address
        self.token = token
        self.engine = engine
        self.ENGINE = engine.address
        self.asset = token.address
        self.REDEEM_FEE_BPS = redeem_fee_bps
        self.shares = Token(journal, address, decimals=token.decimals + DECIMALS_OFFSET, minter=engine.address,
                            name="isomargin LP", symbol="imLP")
        self.lp_requests = self.mapping(LpRequest())
        self.request_count = 0
        self.pending_deposits = 0
        # The engine pays traders' profits straight from the pool.
        token._approve(address, engine.address, MAX_UINT256)

    # ---- ERC20 of the shares (snekmate)
    def totalSupply(self) -> int:
        return self.shares.totalSupply

    def balanceOf(self, owner: str) -> int:
        return self.shares.balanceOf[owner]

    def allowance(self, owner: str, spender: str) -> int:
        return self.shares.allowance[(owner, spender)]

    def name(self) -> str:
        return self.shares.name

    def symbol(self) -> str:
        return self.shares.symbol

    def decimals(self) -> int:
        return self.shares.decimals

    def nonces(self, owner: str) -> int:
        return self.shares.nonces[owner]

    @external
    def transfer(self, to: str, amount: int, *, sender: str) -> bool:
        return self.shares.transfer(to, amount, sender=sender)

    @external
    def transferFrom(self, owner: str, to: str, amount: int, *, sender: str) -> bool:
        return self.shares.transferFrom(owner, to, amount, sender=sender)

    @external
    def approve(self, spender: str, amount: int, *, sender: str) -> bool:
        return self.shares.approve(spender, amount, sender=sender)

    # ---- valuation
    def _cash(self) -> int:
        return checked(self.token.balanceOf[self.address] - self.pending_deposits)

    def _liability(self):
        """(liability, oldest updatedAt): exposure._claim over every listed
        market's sides at each feed's latest answer, no staleness check."""
        e = self.engine
        total, oldest = 0, MAX_UINT256
        for market_id in range(1, e.market_count + 1):
            st = e.market_state(market_id)
            feed = e.feeds[st.feed]
            if feed is None:
                raise Revert(None)
            _, answer, _, updated_at, _ = feed.latestRoundData()
            require(answer > 0, "oracle: price not positive")
            oldest = min(oldest, updated_at)
            if st.oi_long | st.oi_short:
                rate = e.market_params(market_id).borrow_rate
                index = _index_at(st.borrow_index, st.last_accrual, rate, e.env.timestamp)
                total += _claim(e.exposure(market_id, True), True, answer, index)
                total += _claim(e.exposure(market_id, False), False, answer, index)
        return total, oldest

    @staticmethod
    def _value(cash: int, liability: int) -> int:
        return max(cash - liability, 0)

    def _total_assets(self) -> int:
        liability, _ = self._liability()
        return self._value(self._cash(), liability)

    def _to_shares(self, assets: int, worth: int, roundup: bool) -> int:
        num = checked(assets * (self.shares.totalSupply + VIRTUAL_SHARES))
        q, r = divmod(num, worth + 1)
        return q + 1 if roundup and r else q

    def _to_assets(self, shares: int, worth: int, roundup: bool) -> int:
        num = checked(shares * (worth + 1))
        q, r = divmod(num, self.shares.totalSupply + VIRTUAL_SHARES)
        return q + 1 if roundup and r else q

    def _redeem_fee(self, assets: int) -> int:
        return -(-checked(assets * self.REDEEM_FEE_BPS) // BPS)

    def _free_assets(self) -> int:
        cash = self._cash()
        reserved = self.engine.total_reserved
        return 0 if cash <= reserved else cash - reserved

    def cash(self) -> int:
        return self._cash()

    def pool_liability(self):
        return self._liability()

    def free_assets(self) -> int:
        return self._free_assets()

    def totalAssets(self) -> int:
        return self._total_assets()

    def convertToShares(self, assets: int) -> int:
        return self._to_shares(assets, self._total_assets(), False)

    def convertToAssets(self, shares: int) -> int:
        return self._to_assets(shares, self._total_assets(), False)

    def previewDeposit(self, assets: int) -> int:
        return self._to_shares(assets, self._total_assets(), False)

    def previewMint(self, shares: int) -> int:
        return self._to_assets(shares, self._total_assets(), True)

    def previewWithdraw(self, assets: int) -> int:
        fee = self.REDEEM_FEE_BPS
        gross = checked(assets * BPS + BPS - fee - 1) // (BPS - fee)
        return self._to_shares(gross, self._total_assets(), True)

    def previewRedeem(self, shares: int) -> int:
        assets = self._to_assets(shares, self._total_assets(), False)
        return assets - self._redeem_fee(assets)

    def maxDeposit(self, receiver: str) -> int:
        return 0

    def maxMint(self, receiver: str) -> int:
        return 0

    def maxWithdraw(self, owner: str) -> int:
        return 0

    def maxRedeem(self, owner: str) -> int:
        return 0

    # ---- sync ERC-4626: disabled
    @external
    def deposit(self, assets: int, receiver: str, *, sender: str) -> int:
        raise Revert(SYNC_DISABLED)

    @external
    def mint(self, shares: int, receiver: str, *, sender: str) -> int:
        raise Revert(SYNC_DISABLED)

    @external
    def withdraw(self, assets: int, receiver: str, owner: str, *, sender: str) -> int:
        raise Revert(SYNC_DISABLED)

    @external
    def redeem(self, shares: int, receiver: str, owner: str, *, sender: str) -> int:
        raise Revert(SYNC_DISABLED)

    # ---- async requests
    def _check_not_paused(self) -> None:
        """The engine's guardian pause refuses new requests; cancels stay open."""
        require(not self.engine.paused, "pool: paused")

    def _new_request(self, is_deposit: bool, amount: int, controller: str, owner: str) -> int:
        request_id = self.request_count + 1
        self.request_count = request_id
        self.lp_requests[request_id] = LpRequest(is_deposit, owner, controller, amount, self.engine.env.timestamp)
        return request_id

    @external
    def requestDeposit(self, assets: int, controller: str, owner: str, *, sender: str) -> int:
        self._check_not_paused()
        require(owner == sender, "pool: owner must be the caller")
        require(controller != ZERO_ADDRESS, "pool: zero controller")
        require(assets != 0, "pool: zero assets")
        # The model's token moves exact amounts: no "pool: token transfer not exact".
        self.token.transferFrom(owner, self.address, assets, sender=self.address)
        self.pending_deposits += assets
        request_id = self._new_request(True, assets, controller, owner)
        self._emit(DepositRequested(request_id, controller, owner, sender, assets))
        return request_id

    @external
    def requestRedeem(self, shares: int, controller: str, owner: str, *, sender: str) -> int:
        self._check_not_paused()
        require(controller != ZERO_ADDRESS, "pool: zero controller")
        require(shares != 0, "pool: zero shares")
        if sender != owner:
            self.shares._spend_allowance(owner, sender, shares)
        self.shares._transfer(owner, self.address, shares)
        request_id = self._new_request(False, shares, controller, owner)
        self._emit(RedeemRequested(request_id, controller, owner, sender, shares))
        return request_id

    @external
    def execute_request(self, request_id: int, *, sender: str) -> RequestExecuted:
        """Returns the RequestExecuted event it logs."""
        r = self.lp_requests[request_id]
        require(r.amount != 0, "pool: no pending request")
        require(not self.engine.paused, "pool: paused, executions wait")
        require(self.engine.env.timestamp >= r.requested_at + LP_REQUEST_DELAY, "pool: request delay not over")
        liability, oldest = self._liability()
        require(oldest > r.requested_at, "pool: wait for every market's price round after the request")
        worth = self._value(self._cash(), liability)
        if r.is_deposit:
            shares = self._to_shares(r.amount, worth, False)
            require(shares != 0, "pool: zero shares")
            self.lp_requests[request_id] = LpRequest()
            self.pending_deposits -= r.amount
            self.shares._mint(r.controller, shares)
            event = RequestExecuted(request_id, r.controller, True, r.amount, shares, 0)
        else:
            assets = self._to_assets(r.amount, worth, False)
            require(assets != 0, "pool: zero assets")
            fee = self._redeem_fee(assets)
            require(assets - fee <= self._free_assets(), "pool: assets reserved for open positions")
            self.lp_requests[request_id] = LpRequest()
            self.shares._burn(self.address, r.amount)
            self.token.transfer(r.controller, assets - fee, sender=self.address)
            event = RequestExecuted(request_id, r.controller, False, assets - fee, r.amount, fee)
        self._emit(event)
        return event

    @external
    def cancel_request(self, request_id: int, *, sender: str) -> None:
        r = self.lp_requests[request_id]
        require(r.amount != 0, "pool: no pending request")
        require(sender in (r.owner, r.controller), "pool: not the request's owner or controller")
        self.lp_requests[request_id] = LpRequest()
        if r.is_deposit:
            self.pending_deposits -= r.amount
            self.token.transfer(r.owner, r.amount, sender=self.address)
        else:
            self.shares._transfer(self.address, r.owner, r.amount)
        self._emit(RequestCancelled(request_id, r.owner, r.is_deposit, r.amount))

    def pendingDepositRequest(self, request_id: int, controller: str) -> int:
        r = self.lp_requests[request_id]
        return r.amount if r.is_deposit and r.controller == controller else 0

    def pendingRedeemRequest(self, request_id: int, controller: str) -> int:
        r = self.lp_requests[request_id]
        return r.amount if not r.is_deposit and r.controller == controller else 0
