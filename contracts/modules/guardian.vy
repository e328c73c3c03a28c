# pragma version ~=0.4.3
"""
@title isomargin guardian: who may pause, and the pause itself
@custom:contract-name guardian
@notice The guardian (or the owner) may pause opening, increasing and
        collateral removal here; the pool and the order book read the same
        flag (Engine.paused) to refuse LP requests and open or increase
        orders and to hold their executions. Only the owner unpauses.
        Closing, decreasing, adding collateral, liquidating and every
        cancel always work. The `paused` flag is
        snekmate's `pausable`; its `_pause`/`_unpause` are not called
        because they emit pausable's own Paused/Unpaused events, whose
        `account` is not indexed, and the engine's ABI has it indexed.
        model/guardian.py is the Python twin.
"""
from snekmate.utils import pausable

# The pause flag is snekmate's; this module is its only writer. No `uses:`
# here (of `ownable` either: the owner is passed in), because ape compiles
# every source under contracts/ on its own, and a module that uses another
# without initialising it does not compile on its own.
initializes: pausable

# The engine re-exports it as its own `paused` getter.
exports: pausable.paused


# @dev Emitted when the owner names a guardian (also at deployment).
event GuardianSet:
    guardian: indexed(address)


# @dev Emitted when the guardian or the owner pauses.
event Paused:
    account: indexed(address)


# @dev Emitted when the owner unpauses.
event Unpaused:
    account: indexed(address)


# @dev The account that may pause besides the owner.
guardian: public(address)


@deploy
def __init__(guardian_: address):
    """
    @dev Names the first guardian; the engine starts unpaused.
    @param guardian_ The guardian.
    """
    pausable.__init__()
    self._set_guardian(guardian_)


@internal
@view
def _not_paused():
    """
    @dev Throws while paused, with the engine's reason (not pausable's).
    """
    assert not pausable.paused, "engine: paused"


@internal
@view
def _check_guardian(owner: address):
    """
    @dev Throws unless the caller is the guardian or the owner.
    @param owner The engine's owner (`ownable.owner`), who may always pause.
    """
    assert msg.sender == self.guardian or msg.sender == owner, "engine: caller is not the guardian"


@internal
def _set_guardian(guardian_: address):
    """
    @dev Names the guardian; no access check (the engine checks the owner).
    @param guardian_ The new guardian (the empty address disables it).
    """
    self.guardian = guardian_
    log GuardianSet(guardian=guardian_)


@internal
def _pause(owner: address):
    """
    @dev Pauses: the caller must be the guardian or the owner, and the
         engine not paused, checked in that order.
    @param owner The engine's owner (`ownable.owner`), who may always pause.
    """
    self._check_guardian(owner)
    self._not_paused()
    pausable.paused = True
    log Paused(account=msg.sender)


@internal
def _unpause():
    """
    @dev Lifts the pause; no access check (the engine checks the owner).
    """
    assert pausable.paused, "engine: not paused"
    pausable.paused = False
    log Unpaused(account=msg.sender)
