# pragma version ~=0.4.3
"""
@title Test-only Chainlink-style feed that can start reverting
@notice The same reads and owner writes as contracts' MockAggregator
        (decimals, latestRoundData, latestAnswer, set_answer, set_round,
        owner), so the unit tests' trade helpers publish rounds on it, plus
        set_broken: while broken, latestRoundData reverts with
        "aggregator: broken", as a dead or deprecated feed does.
"""

decimals: public(uint8)
owner: public(address)
broken: public(bool)

answer: int256
updated_at: uint256
round_id: uint80


@deploy
def __init__(decimals_: uint8, initial_answer: int256):
    """
    @dev The deployer owns the feed; the first round is stamped now.
    @param decimals_ The answer's decimals.
    @param initial_answer The first answer.
    """
    self.decimals = decimals_
    self.owner = msg.sender
    self._set(initial_answer, block.timestamp)


@internal
def _set(answer: int256, updated_at: uint256):
    self.answer = answer
    self.updated_at = updated_at
    self.round_id += 1


@external
def set_answer(answer: int256):
    """
    @notice Publish a new answer, stamped now (owner only).
    """
    assert msg.sender == self.owner, "aggregator: caller is not the owner"
    self._set(answer, block.timestamp)


@external
def set_round(answer: int256, updated_at: uint256):
    """
    @notice Publish a round with any timestamp (owner only).
    """
    assert msg.sender == self.owner, "aggregator: caller is not the owner"
    self._set(answer, updated_at)


@external
def set_broken(broken_: bool):
    """
    @notice Make latestRoundData revert (True) or answer again (False).
    """
    assert msg.sender == self.owner, "aggregator: caller is not the owner"
    self.broken = broken_


@external
@view
def latestRoundData() -> (uint80, int256, uint256, uint256, uint80):
    """
    @notice The latest round (startedAt is updatedAt); reverts while broken.
    """
    assert not self.broken, "aggregator: broken"
    return (self.round_id, self.answer, self.updated_at, self.updated_at, self.round_id)


@external
@view
def latestAnswer() -> int256:
    """
    @notice The latest answer (reverts while broken, like latestRoundData).
    """
    assert not self.broken, "aggregator: broken"
    return self.answer
