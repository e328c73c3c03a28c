# pragma version ~=0.4.3
"""
@title Executes a list of calls in one transaction, optionally inside a flash loan
@custom:contract-name BundleAttacker
@notice The attacker of tests/unit/test_pool_attacks.py: it holds its own
        positions and pool shares, and runs a list of calls (deposit,
        close, redeem, ...) atomically, inside a FlashLender loan when asked,
        repaying it from what the calls leave. Test scaffolding, not protocol.
"""
from ethereum.ercs import IERC20


interface Lender:
    def flash(amount: uint256): nonpayable


MAX_CALLS: constant(uint256) = 8
MAX_DATA: constant(uint256) = 512


struct Call:
    target: address
    data: Bytes[MAX_DATA]


OWNER: public(immutable(address))
TOKEN: public(immutable(IERC20))
lender: address
pending: DynArray[Call, MAX_CALLS]


@deploy
def __init__(token: IERC20):
    """
    @dev The deployer owns the attacker.
    @param token The token it repays loans in.
    """
    OWNER = msg.sender
    TOKEN = token


@internal
def _run(calls: DynArray[Call, MAX_CALLS]):
    """
    @dev Runs the calls in order; any failure reverts the whole transaction.
    @param calls The calls.
    """
    for c: Call in calls:
        raw_call(c.target, c.data)


@external
def run(calls: DynArray[Call, MAX_CALLS]):
    """
    @notice Runs the calls in one transaction (owner only).
    @param calls The calls.
    """
    assert msg.sender == OWNER, "bundle: not the owner"
    self._run(calls)


@external
def run_with_loan(lender: address, amount: uint256, calls: DynArray[Call, MAX_CALLS]):
    """
    @notice Borrows `amount` from `lender`, runs the calls, repays (owner only).
    @param lender A FlashLender.
    @param amount The loan.
    @param calls The calls, run inside the loan.
    """
    assert msg.sender == OWNER, "bundle: not the owner"
    self.lender = lender
    self.pending = calls
    extcall Lender(lender).flash(amount)
    self.lender = empty(address)
    self.pending = []


@external
def on_flash(amount: uint256):
    """
    @notice The lender's callback: run the pending calls, then repay.
    @param amount The loan, repaid in full.
    """
    assert msg.sender == self.lender, "bundle: not the lender"
    self._run(self.pending)
    assert extcall TOKEN.transfer(msg.sender, amount, default_return_value=True), "bundle: repay failed"
