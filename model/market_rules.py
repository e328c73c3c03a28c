"""Twin of contracts/MarketRules.vy: the checks the engine asks for before
every governance write of a market. Stateless; the rules are markets.py's
(Markets._check_params, FeedChecks._check_feed, _check_feed_change), as
the contract's are modules/markets.vy's."""
from .journal import Contract, Journal
from .markets import FeedChecks, MarketParams, Markets


class MarketRules(FeedChecks, Contract):
    def __init__(self, journal: Journal, address: str, feeds):
        """`feeds`: the engine's feed twins by address, where a call to a
        feed's address finds its contract."""
        Contract.__init__(self, journal)
        self.address = address
        self.feeds = feeds

    def check_listing(self, feed: str, params: MarketParams) -> bool:
        """Whether a market may be listed on `feed` with `params`; a refusal raises."""
        self._check_feed(feed)
        Markets._check_params(params)
        return True

    def check_params(self, params: MarketParams) -> bool:
        """Whether a listed market may take `params`; a refusal raises."""
        Markets._check_params(params)
        return True

    def check_feed_change(self, old_feed: str, new_feed: str) -> bool:
        """Whether a market may move from `old_feed` to `new_feed`; a refusal raises."""
        self._check_feed_change(old_feed, new_feed)
        return True

    def feed_round(self, feed: str):
        """(answered, answer, updatedAt) of `feed`'s latest round, never raising."""
        return self._feed_round(feed)
