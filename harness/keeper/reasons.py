"""Why a position was not liquidated, in words an operator can act on.

Each key is a refusal as the contracts (and their model twins) state it:
the engine's, the oracle's as model.markets.oracle_error words it, the
sequencer check's, Circle's FiatToken's. A position the keeper skipped
carries the refusal the engine would give it (computed with the model's
rules in health.refusal), a failed liquidation the revert reason it got:
one table serves both, so the words for a stale price are the same
whether the keeper saw it coming or the transaction hit it.
"""
from typing import Optional

from model.markets import ORACLE_FALLBACK_DELAY

from .health import FEED_REVERTED
from .keeper import HEALTHY, NOT_OPEN
from .profit import UNPROFITABLE

WORDS = {
    HEALTHY: "healthy: equity is above maintenance margin at the current price",
    NOT_OPEN: "lost race: another keeper liquidated it first, or its owner closed it",
    "oracle: price is stale":
        "oracle stale: the market's last price round is older than its staleness limit; "
        "liquidations resume with the feed's next round, or at the last good price once the feed has been "
        f"unusable for {ORACLE_FALLBACK_DELAY // 3600} h",
    "oracle: price not positive": "oracle broken: the feed's answer is zero or negative; nothing can be liquidated "
                                  "in this market until it reports a price, or until the last good price takes "
                                  f"over {ORACLE_FALLBACK_DELAY // 3600} h after the feed became unusable",
    FEED_REVERTED: "oracle broken: the feed's latestRoundData reverts; nothing can be liquidated in this market "
                   f"until it answers, or until the last good price takes over {ORACLE_FALLBACK_DELAY // 3600} h "
                   "after the feed became unusable",
    "oracle: price out of range": "oracle broken: the feed's answer does not fit the engine's price range",
    "sequencer: down": "sequencer down: liquidations wait until the L2 sequencer is back and its grace period over",
    "sequencer: grace period after an outage":
        "sequencer grace period: traders get time to add collateral after an outage; liquidations resume after it",
    "Pausable: paused": "token paused: the collateral token refuses every transfer until its issuer unpauses it; "
                        "retried every round",
    "Blacklistable: account is blacklisted":
        "blacklisted: the token refuses a transfer to or from a blacklisted address (this keeper's, or the "
        "pool's, order book's or insurance fund's); if it is the keeper's, run it from another account",
    UNPROFITABLE: "reward below gas cost: the liquidation, simulated on the node, would pay less than its gas "
                  "at --coin-price; not sent, checked again every round",
}

# A revert of our own transaction with the engine's "healthy" means the
# price moved between the scan and the block: not the same advice as a skip.
HEALTHY_AGAIN = "healthy again: the price moved back between the scan and the block"


def explain(reason: Optional[str], *, sent: bool = False) -> str:
    """`reason` (a refusal) in words; `sent`: our transaction got it as a revert."""
    if sent and reason == HEALTHY:
        return HEALTHY_AGAIN
    if reason in WORDS:
        return WORDS[reason]
    if reason is None:
        return "reverted without a reason (out of gas?); retried next round"
    return f"refused: {reason!r}"


def attempt_words(attempt) -> str:
    """Why a liquidation attempt (keeper.Attempt) did not count, in words."""
    from .keeper import AWAIT_EVENT

    if attempt.outcome == "gave_up":
        return f"no answer from the node after {attempt.rpc_errors} tries; retried next round"
    if attempt.outcome == "unsettled":
        if attempt.reason == AWAIT_EVENT:
            return "sent, but its answer was lost: counted once the engine's event shows who liquidated it"
        return "the node failed and could not say whether it is still open; asked again next round"
    return explain(attempt.reason, sent=True)
