"""MockAggregator: the owner-set Chainlink-style feed used for oracle drills."""
import ape

from .helpers import px


def test_constructor(project, owner, chain, clock):
    t = clock.at(0)
    feed = project.MockAggregator.deploy(8, "BTC / USD", px(60_000), sender=owner)
    assert (feed.decimals(), feed.description(), feed.version(), feed.owner()) == (8, "BTC / USD", 4, owner.address)
    assert tuple(feed.latestRoundData()) == (1, px(60_000), t, t, 1)
    assert feed.latestAnswer() == px(60_000)


def test_set_answer_starts_a_new_round_at_block_time(feed, owner, clock):
    round_id = feed.latestRoundData()[0]
    t = clock.at(5)
    receipt = feed.set_answer(-px(1), sender=owner)
    assert tuple(feed.latestRoundData()) == (round_id + 1, -px(1), t, t, round_id + 1)
    assert feed.latestAnswer() == -px(1)
    [log] = receipt.events.filter(feed.AnswerUpdated)
    assert (log.current, log.roundId, log.updatedAt) == (-px(1), round_id + 1, t)


def test_set_round_writes_any_timestamp(feed, owner):
    round_id = feed.latestRoundData()[0]
    feed.set_round(px(1_234), 42, sender=owner)
    assert tuple(feed.latestRoundData()) == (round_id + 1, px(1_234), 42, 42, round_id + 1)


def test_only_owner_sets_answers(feed, stranger):
    before = tuple(feed.latestRoundData())
    with ape.reverts("aggregator: caller is not the owner"):
        feed.set_answer(1, sender=stranger)
    with ape.reverts("aggregator: caller is not the owner"):
        feed.set_round(1, 1, sender=stranger)
    assert tuple(feed.latestRoundData()) == before
