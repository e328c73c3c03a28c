# pragma version ~=0.4.3
"""
@title Isolated position vault
@notice Holds exactly one position's collateral (or the insurance fund).
        Deployed once as an implementation by the engine; every position
        vault is a minimal proxy of it. ENGINE and TOKEN are immutables in
        the implementation's code, so a proxy needs no storage at all and a
        recycled proxy cannot carry permissions from an earlier position.
"""
from ethereum.ercs import IERC20
from interfaces import IVault

implements: IVault

ENGINE: public(immutable(address))
TOKEN: public(immutable(IERC20))


# @notice Tokens sent to this vault from outside the protocol while it was
#         free (no position), swept to `to` (the insurance vault) as the
#         engine takes it for a new position.
event Swept:
    to: indexed(address)
    amount: uint256


@deploy
def __init__(engine: address, token: IERC20):
    """
    @dev Runs once, for the implementation: its proxies share these
         immutables through its code.
    @param engine The only account that may move the vault's tokens.
    @param token The collateral token.
    """
    ENGINE = engine
    TOKEN = token


@external
def pay(to: address, amount: uint256):
    """
    @notice Pay out of this vault (engine only). The engine decides every
            amount; the vault only refuses anyone else and a failed transfer.
    @param to The recipient.
    @param amount The amount.
    """
    assert msg.sender == ENGINE, "vault: caller is not the engine"
    self._pay(to, amount)


@internal
def _send(to: address, amount: uint256) -> bool:
    """
    @dev A transfer that reports a refusal instead of reverting.
    @param to The recipient.
    @param amount The amount.
    @return bool True when the token moved it.
    """
    ok: bool = False
    out: Bytes[32] = b""
    ok, out = raw_call(TOKEN.address, abi_encode(to, amount, method_id=method_id("transfer(address,uint256)")),
                       max_outsize=32, revert_on_failure=False)
    return ok and (len(out) == 0 or convert(out, bool))


@external
def refuses() -> bool:
    """
    @notice Whether the token refuses this vault a zero transfer to itself
            (a blacklisted vault, or a paused token). It moves nothing, so
            anyone may ask; another vault asks it of the insurance vault.
    @dev Any failure counts. A caller cannot starve the call into failing:
         the 63/64 rule leaves it too little gas to finish its own work.
    @return bool True when the token refused.
    """
    return not self._send(self, 0)


@external
def frozen(control: address) -> bool:
    """
    @notice Whether the token refuses this vault alone: it refuses this
            vault and lets `control` (the insurance vault) move. A paused
            token refuses both, and that must make the action wait, not
            retire the vault.
    @param control A vault the token is expected to let move.
    @return bool True when this vault is frozen.
    @dev The engine asks as it takes this vault off the free stack for a
         new position; a free vault's position paid out everything, so
         whatever it holds then was sent from outside: it goes to
         `control` (the insurance vault, in the engine's call) before the
         new collateral comes in, so the vault holds exactly that
         collateral. Only the engine's call sweeps: anyone else names any
         `control`.
    """
    if not self._send(self, 0):
        return not extcall IVault(control).refuses()
    if msg.sender == ENGINE:
        left: uint256 = staticcall TOKEN.balanceOf(self)
        if left != 0:
            self._pay(control, left)
            log Swept(to=control, amount=left)
    return False


@external
def pay_exit(a: address, a_amount: uint256, b: address, b_amount: uint256, c: address, c_amount: uint256,
             rest_to: address, control: address) -> (bool, uint256):
    """
    @notice Pay a closed position out of this vault (engine only): `a`,
            `b` and `c` their amounts (the whole collateral), then
            `rest_to` whatever is left (tokens sent straight here). When
            the token refuses this vault alone (frozen), nothing is paid
            and nothing reverts; any other refusal (a paused token, a
            refused recipient) reverts with the token's reason.
    @param a The first recipient.
    @param a_amount What it gets.
    @param b The second recipient.
    @param b_amount What it gets.
    @param c The third recipient.
    @param c_amount What it gets.
    @param rest_to Where what is left goes (the pool).
    @param control The insurance vault, for the frozen check.
    @return bool False when the vault is frozen.
    @return uint256 What went to `rest_to`, or, frozen, this vault's balance.
    """
    assert msg.sender == ENGINE, "vault: caller is not the engine"
    paid: uint256 = 0
    if self._try_pay(a, a_amount, control):
        paid = a_amount
        if self._try_pay(b, b_amount, control):
            paid += b_amount
            if self._try_pay(c, c_amount, control):
                rest: uint256 = staticcall TOKEN.balanceOf(self)
                self._pay(rest_to, rest)
                return True, rest
    # A token that froze this vault between two payments (none known can)
    # would leave the exit part paid, which the engine cannot account.
    assert paid == 0, "vault: frozen during the exit"
    return False, staticcall TOKEN.balanceOf(self)


@internal
def _try_pay(to: address, amount: uint256, control: address) -> bool:
    """
    @dev Pays, or reports a frozen vault: the payment is tried first (an
         exit that moves costs no probe), and only a refused one asks
         whether the refusal is this vault's alone. Any other refusal is
         made again, to revert with the token's reason.
    @param to The recipient.
    @param amount The amount.
    @param control The vault the token is expected to let move.
    @return bool False when this vault is frozen.
    """
    if amount == 0 or self._send(to, amount):
        return True
    # frozen(control), written out: sharing it through an internal
    # function measured 107 more gas on every open in a recycled vault.
    if not self._send(self, 0):
        if not extcall IVault(control).refuses():
            return False
    self._pay(to, amount)
    return True


@internal
def _pay(to: address, amount: uint256):
    """
    @dev A transfer that reverts with the token's reason; none for zero.
    @param to The recipient.
    @param amount The amount.
    """
    if amount != 0:
        assert extcall TOKEN.transfer(to, amount, default_return_value=True), "vault: transfer failed"
