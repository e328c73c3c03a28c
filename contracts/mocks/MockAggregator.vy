# pragma version ~=0.4.3
"""
@title Devnet Chainlink AggregatorV3 feed whose answer the owner sets
@notice set_round lets drills write any answer and timestamp: zero,
        negative and stale answers are how oracle faults are rehearsed.
        A round is one storage word, as Chainlink packs its transmissions
        (int192 answer, uint32 timestamp), so reading a price costs what
        it costs on a real feed rather than four cold slots.
"""

decimals: public(uint8)
description: public(String[32])
version: public(uint256)
owner: public(address)

# answer (int192, two's complement) | updated_at << 192 | round_id << 224
round: uint256

event AnswerUpdated:
    current: indexed(int256)
    roundId: indexed(uint256)
    updatedAt: uint256


@deploy
def __init__(decimals_: uint8, description_: String[32], initial_answer: int256):
    """
    @dev The deployer owns the feed; the first round is stamped now.
    @param decimals_ The answer's decimals (Chainlink USD feeds use 8).
    @param description_ The feed's name, e.g. "ETH / USD".
    @param initial_answer The first answer.
    """
    self.decimals = decimals_
    self.description = description_
    self.version = 4
    self.owner = msg.sender
    self._set(initial_answer, block.timestamp)


@internal
def _set(answer: int256, updated_at: uint256):
    """
    @dev Writes the next round into one word, refusing what would not fit
         its packing (rather than wrapping into a different answer).
    @param answer The answer.
    @param updated_at The round's timestamp.
    """
    assert answer >= -2**191 and answer < 2**191, "aggregator: answer out of range"
    assert updated_at < 2**32, "aggregator: timestamp out of range"
    round_id: uint256 = (self.round >> 224) + 1
    assert round_id < 2**32, "aggregator: rounds exhausted"
    raw: uint256 = 0
    if answer < 0:
        raw = convert(answer + 2**192, uint256)    # two's complement in 192 bits
    else:
        raw = convert(answer, uint256)
    self.round = raw | (updated_at << 192) | (round_id << 224)
    log AnswerUpdated(current=answer, roundId=round_id, updatedAt=updated_at)


@external
def set_answer(answer: int256):
    """
    @notice Publish a new answer, stamped now (owner only).
    @param answer The answer.
    """
    assert msg.sender == self.owner, "aggregator: caller is not the owner"
    self._set(answer, block.timestamp)


@external
def set_round(answer: int256, updated_at: uint256):
    """
    @notice Publish a round with any timestamp, so drills can make a price
            stale (owner only).
    @param answer The answer.
    @param updated_at The round's timestamp.
    """
    assert msg.sender == self.owner, "aggregator: caller is not the owner"
    self._set(answer, updated_at)


@internal
@view
def _answer(packed: uint256) -> int256:
    """
    @dev Sign-extends the packed 192-bit answer.
    @param packed The round word.
    @return int256 The answer.
    """
    raw: uint256 = packed & (2**192 - 1)
    if raw >= 2**191:
        return convert(raw, int256) - 2**192
    return convert(raw, int256)


@external
@view
def latestRoundData() -> (uint80, int256, uint256, uint256, uint80):
    """
    @notice The latest round, as Chainlink's AggregatorV3 returns it
            (startedAt is updatedAt, answeredInRound the round id).
    @return uint80 The round id.
    @return int256 The answer.
    @return uint256 When the round started.
    @return uint256 When the round was updated.
    @return uint80 The round the answer was computed in.
    """
    packed: uint256 = self.round
    round_id: uint80 = convert(packed >> 224, uint80)
    updated_at: uint256 = (packed >> 192) & (2**32 - 1)
    return (round_id, self._answer(packed), updated_at, updated_at, round_id)


@external
@view
def latestAnswer() -> int256:
    """
    @notice The latest answer (the legacy AggregatorV2 read).
    @return int256 The answer.
    """
    return self._answer(self.round)
