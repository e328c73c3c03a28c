# pragma version ~=0.4.3
"""
@title isomargin sequencer: the L2 sequencer-uptime check
@custom:contract-name sequencer
@notice On an L2, while the sequencer is down traders cannot add
        collateral, close or have their orders executed, and when it comes
        back prices may have moved a long way. So liquidations and order
        executions wait while it is down and for a grace period after it
        comes back, giving traders the time to act first. Stateless: the
        feed and the grace are immutables, passed in. model/sequencer.py is
        the Python twin.
"""
from ..interfaces import AggregatorV3


@internal
@view
def _check_sequencer(feed: address, grace: uint256):
    """
    @dev Chainlink's L2 sequencer-uptime feed answers 0 while the sequencer
         is up and 1 while it is down; startedAt is when that status began.
         The empty address (an L1 deployment) means no check.
    @param feed The uptime feed, or the empty address.
    @param grace Seconds after the sequencer comes back during which
           liquidations and executions still wait.
    """
    if feed == empty(address):
        return
    answer: int256 = 0
    started_at: uint256 = 0
    _: uint80 = 0
    __: uint256 = 0
    ___: uint80 = 0
    _, answer, started_at, __, ___ = staticcall AggregatorV3(feed).latestRoundData()
    assert answer == 0, "sequencer: down"
    assert started_at + grace < block.timestamp, "sequencer: grace period after an outage"
