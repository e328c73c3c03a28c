"""Moving a devnet market's price by hand: the next round of the mock feed
the manifest records and the engine reads.

Only on a local devnet: there the feeds are MockAggregators the deployer
owns, and a price set by hand is how a liquidation is rehearsed. On any
other chain a feed is a real oracle and this would at best revert, so it
is refused before anything is signed. The new answer goes through
MockAggregator.set_answer, so the feed's own round counter continues
(round n+1, stamped with the block's time) and the answer has the feed's
own decimals, read from the feed: an answer in the wrong decimals would
be a price off by powers of ten that every position would then trade at.
"""
from decimal import Decimal, InvalidOperation
from typing import Callable

from ..chains.rpc import Rpc
from .manifest import Manifest
from .session import EXIT_CANNOT_SIGN, EXIT_NOT_FOUND, EXIT_USAGE, EXIT_WRONG_CHAIN, CommandError
from .views import usd

# anvil's and hardhat's default, and ganache's, geth --dev's and ape's test chain's.
DEVNET_CHAIN_IDS = (31337, 1337)


def refuse_unless_devnet(chain_id: int, what: str) -> None:
    if chain_id not in DEVNET_CHAIN_IDS:
        raise CommandError(f"{what} is chain {chain_id}, not a local devnet (chain ids "
                           f"{', '.join(map(str, DEVNET_CHAIN_IDS))}): only a devnet's mock feeds take a price "
                           f"by hand; nothing was sent", EXIT_WRONG_CHAIN)


def answer_of(text: str, decimals: int) -> int:
    """USD text -> the feed's answer in its decimals, exactly, or a usage error."""
    try:
        value = Decimal(text.replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise CommandError(f"price {text!r} is not a number of USD", EXIT_USAGE) from None
    if not value.is_finite() or value <= 0:
        raise CommandError(f"price {text!r}: a feed's answer must be a positive number of USD", EXIT_USAGE)
    scaled = value.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise CommandError(f"price {text!r} has more digits than the feed's {decimals} decimals", EXIT_USAGE)
    return int(scaled)


def market_feed(m: Manifest, rpc: Rpc, symbol: str):
    """(market id, feed address) of a manifest market, checked against the
    engine: a feed the engine does not read would move no price."""
    market = m.markets.get(symbol) or m.markets.get(symbol.upper())
    if market is None:
        raise CommandError(f"no market {symbol!r} in {m.path} (markets: {', '.join(sorted(m.markets)) or 'none'})",
                           EXIT_NOT_FOUND)
    market_id, feed = market["market_id"], market.get("feed")
    engine_feed = rpc.call(m.address("engine"), "Engine", "market_state", [market_id])[0]
    if not feed or feed.lower() != engine_feed.lower():
        raise CommandError(f"market {symbol}: the manifest's feed is {feed}, the engine reads {engine_feed}",
                           EXIT_NOT_FOUND)
    return market_id, feed


def set_price(m: Manifest, rpc: Rpc, symbol: str, price_text: str, signer, send: Callable) -> str:
    """Publish the next round; `send(feed, answer)` signs and sends
    set_answer as `signer`. Returns the report: the round before and after."""
    refuse_unless_devnet(rpc.chain_id(), "the node")
    market_id, feed = market_feed(m, rpc, symbol)
    decimals, owner, before = rpc.call_many([(feed, "MockAggregator", "decimals", ()),
                                             (feed, "MockAggregator", "owner", ()),
                                             (feed, "MockAggregator", "latestRoundData", ())])
    recorded = m.markets[symbol].get("feed_decimals")
    if recorded is not None and recorded != decimals:
        raise CommandError(f"market {symbol}: the feed has {decimals} decimals, the manifest says {recorded}",
                           EXIT_NOT_FOUND)
    answer = answer_of(price_text, decimals)
    if signer.address.lower() != owner.lower():
        raise CommandError(f"{signer.address} does not own the {symbol} feed {feed} (its owner is {owner}): "
                           f"the feed would refuse it; nothing was sent", EXIT_CANNOT_SIGN)
    send(feed, answer)
    after = rpc.call(feed, "MockAggregator", "latestRoundData")
    if after[0] != before[0] + 1 or after[1] != answer:
        raise CommandError(f"the {symbol} feed now says round {after[0]}, answer {after[1]}: not the round "
                           f"{before[0] + 1} with {answer} just sent (another sender at the same time?)",
                           EXIT_NOT_FOUND)
    return (f"{symbol} (market {market_id}) feed {feed}: round {before[0]} -> {after[0]}, "
            f"{usd(before[1], decimals)} -> {usd(after[1], decimals)}, updated at {after[3]}")
