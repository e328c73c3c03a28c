"""Twin.cache_reads: the state machine reuses a state read until the chain
changes. A stale read would compare the model's new state with the chain's
old one, or hide a change: each way the chain changes must read afresh."""
from harness.chains.revm import RevmChain
from harness.protocol.markets import USDC
from harness.twin.twin import Twin
from harness.twin.world import build_world


class CountingRevm(RevmChain):
    """revm that counts batched reads and time probes."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.reads = self.probes = 0

    def call_many(self, calls):
        self.reads += 1
        return super().call_many(calls)

    def call_timestamp(self):
        self.probes += 1
        return super().call_timestamp()


def test_a_cached_read_lasts_until_a_transaction_or_a_rollback():
    chain = CountingRevm(n_accounts=20)
    w = build_world(Twin(chain))
    t = w.twin
    t.cache_reads = True
    first = t.read_chain()
    at = t.read_time()
    reads, probes = chain.reads, chain.probes
    # Unchanged chain: the same read, no call; a wait the chain has not seen changes nothing either.
    t.wait(3_600)
    assert t.read_chain() == first and t.read_time() == at
    assert (chain.reads, chain.probes) == (reads, probes)
    # A transaction: read again, and it shows.
    with t.what_if():
        assert t.send("token", "transfer", [w.stranger, 7 * USDC], w.lps[0]).ok
        moved = t.read_chain()
        assert chain.reads == reads + 1
        assert moved.balances[w.stranger] == first.balances[w.stranger] + 7 * USDC
        assert t.read_time() > at
    # Rolled back: read again, and the transfer is gone.
    assert t.read_chain() == first
    assert chain.reads == reads + 2
    t.check()


def test_without_cache_reads_every_read_asks_the_chain():
    """Off by default: a test that moves tokens behind the twin's back
    (test_replay.py) must see it."""
    chain = CountingRevm(n_accounts=20)
    t = build_world(Twin(chain)).twin
    t.read_chain()
    reads, probes = chain.reads, chain.probes
    t.read_chain()
    t.read_time(), t.read_time()
    assert (chain.reads, chain.probes) == (reads + 1, probes + 2)
