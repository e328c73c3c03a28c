# pragma version ~=0.4.3
"""
@title isomargin timelock: the engine's owner, every owner change delayed
@custom:contract-name Timelock
@notice snekmate's `timelock_controller`, deployed as is. The deploy
        (harness/live/netdeploy.py) makes it the Engine's owner, so
        listing markets, setting their parameters and feeds, naming the
        guardian, unpausing and transferring ownership are each scheduled
        here by a proposer, public for at least `get_minimum_delay`
        seconds, then executed; a canceller may drop them meanwhile.
        The guardian is not the owner and is not delayed: it pauses the
        engine at once. The timelock lives outside Engine.vy, whose
        runtime code is a few bytes under the EIP-170 limit.
        The Python twin is model/timelock.py.
"""
# snekmate's timelock checks roles with access_control, which it `uses`:
# this contract initialises both, as snekmate's own timelock mock does.
from snekmate.auth import access_control
from snekmate.governance import timelock_controller

initializes: access_control
initializes: timelock_controller[access_control := access_control]

# Every entry point of the timelock, the role functions it re-exports
# from access_control included.
exports: timelock_controller.__interface__


@deploy
@payable
def __init__(
    minimum_delay_: uint256,
    proposers_: DynArray[address, 255],
    executors_: DynArray[address, 255],
    admin_: address,
):
    """
    @notice Set up the roles and the delay. The timelock administers
            itself: access_control gives the deployer the admin role,
            which timelock_controller.__init__ takes back at once, so
            after construction only `admin_` (if any) may change roles
            without the delay. Payable only to save the callvalue check.
    @param minimum_delay_ The least delay, in seconds, of every operation.
    @param proposers_ The accounts that may schedule (and cancel) operations.
    @param executors_ The accounts that may execute ready operations; the
           empty address among them lets anyone execute.
    @param admin_ An account that may grant and revoke roles at once,
           meant only for set-up; the empty address for none.
    """
    access_control.__init__()
    timelock_controller.__init__(minimum_delay_, proposers_, executors_, admin_)
