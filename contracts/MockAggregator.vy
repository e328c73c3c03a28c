# pragma version ~=0.4.3
"""
@title Devnet Chainlink AggregatorV3 feed whose answer the owner sets
@notice set_round lets drills write any answer and timestamp: zero,
        negative and stale answers are how oracle faults are rehearsed.
"""

decimals: public(uint8)
description: public(String[32])
version: public(uint256)
owner: public(address)

round_id: uint80
answer: int256
started_at: uint256
updated_at: uint256

event AnswerUpdated:
    current: indexed(int256)
    roundId: indexed(uint256)
    updatedAt: uint256


@deploy
def __init__(decimals_: uint8, description_: String[32], initial_answer: int256):
    self.decimals = decimals_
    self.description = description_
    self.version = 4
    self.owner = msg.sender
    self._set(initial_answer, block.timestamp)


@internal
def _set(answer: int256, updated_at: uint256):
    self.round_id += 1
    self.answer = answer
    self.started_at = updated_at
    self.updated_at = updated_at
    log AnswerUpdated(current=answer, roundId=convert(self.round_id, uint256), updatedAt=updated_at)


@external
def set_answer(answer: int256):
    assert msg.sender == self.owner, "aggregator: caller is not the owner"
    self._set(answer, block.timestamp)


@external
def set_round(answer: int256, updated_at: uint256):
    assert msg.sender == self.owner, "aggregator: caller is not the owner"
    self._set(answer, updated_at)


@external
@view
def latestRoundData() -> (uint80, int256, uint256, uint256, uint80):
    return (self.round_id, self.answer, self.started_at, self.updated_at, self.round_id)


@external
@view
def latestAnswer() -> int256:
    return self.answer
