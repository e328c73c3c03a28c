"""The engine's hand-over to its timelock, written once: the deploy
(live/netdeploy.py), the state machine's worlds (twin/world.py) and the unit
tests (tests/unit/test_timelock.py) make the timelock the owner with the
same batch, so what the tests prove is what a deployment does."""
from eth_utils import keccak

# No predecessor operation (snekmate's timelock_controller: bytes32 zero).
NO_PREDECESSOR = bytes(32)
# One hand-over per timelock: a fixed salt lets a rerun find the batch it scheduled.
HANDOVER_SALT = keccak(b"isomargin: the timelock accepts the engine")


def handover_batch(engine: str, timelock: str, delay: int) -> list:
    """schedule_batch's and execute_batch's (targets, values, payloads): the
    timelock, deployed with no delay, accepts the engine's ownership and
    takes `delay` in the same batch, so no owner change can ever run
    undelayed after it. The engine must have offered ownership first
    (transfer_ownership)."""
    from ..chains.contracts import codec      # ape-free, but not needed by the protocol's other readers
    return [[engine, timelock], [0, 0],
            [codec("Engine")["accept_ownership"].encode([]), codec("Timelock")["update_delay"].encode([delay])]]
