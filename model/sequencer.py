"""Twin of contracts/modules/sequencer.vy: the L2 sequencer-uptime check.

While an L2's sequencer is down traders cannot add collateral, close or
have orders executed; liquidations and executions wait for it and for a
grace period after it is back. Mixed into the model Engine and OrderBook,
which give it `env` (the block time) and `feeds` (contracts by address).
"""
from .env import ZERO_ADDRESS
from .errors import Revert


def sequencer_error(answer: int, started_at: int, grace: int, timestamp: int):
    """The reason _check_sequencer refuses this status round at `timestamp`
    (None if it passes): for tools that ask without calling."""
    if answer != 0:
        return "sequencer: down"
    if started_at + grace >= timestamp:
        return "sequencer: grace period after an outage"
    return None


class Sequencer:
    def _check_sequencer(self, feed: str, grace: int) -> None:
        """Chainlink's uptime feed: answer 0 up, 1 down; startedAt is when
        the status began. The empty address (an L1) means no check."""
        if feed == ZERO_ADDRESS:
            return
        aggregator = self.feeds[feed]
        if aggregator is None:
            raise Revert(None)      # no contract there: the call reverts without a reason
        _, answer, started_at, _, _ = aggregator.latestRoundData()
        error = sequencer_error(answer, started_at, grace, self.env.timestamp)
        if error is not None:
            raise Revert(error)
