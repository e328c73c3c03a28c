"""Twin of contracts/mocks/MockAggregator.vy: a Chainlink feed whose answer is set.

The round is kept unpacked (answer, updated_at, round_id); the packing's
bounds are still checked in _set, with the contract's reasons.
"""
from dataclasses import dataclass

from .env import Env
from .errors import require
from .events import Event
from .journal import Contract, Journal, external


@dataclass(frozen=True, slots=True)
class AnswerUpdated(Event):
    current: int
    roundId: int
    updatedAt: int


class MockAggregator(Contract):
    def __init__(self, journal: Journal, env: Env, address: str, decimals: int, initial_answer: int,
                 owner: str = "", description: str = ""):
        super().__init__(journal)
        self.owner = owner
        self.env = env
        self.address = address
        self.decimals = decimals
        self.description = description
        self.version = 4
        self.round_id = 0
        self.answer = 0
        self.updated_at = 0
        self._set(initial_answer, env.timestamp)

    def _set(self, answer: int, updated_at: int) -> None:
        require(-2**191 <= answer < 2**191, "aggregator: answer out of range")
        require(updated_at < 2**32, "aggregator: timestamp out of range")
        require(self.round_id + 1 < 2**32, "aggregator: rounds exhausted")
        self.round_id += 1
        self.answer = answer
        self.updated_at = updated_at
        self._emit(AnswerUpdated(answer, self.round_id, updated_at))

    @external
    def set_answer(self, answer: int, *, sender: str) -> None:
        require(sender == self.owner, "aggregator: caller is not the owner")
        self._set(answer, self.env.timestamp)

    @external
    def set_round(self, answer: int, updated_at: int, *, sender: str) -> None:
        require(sender == self.owner, "aggregator: caller is not the owner")
        self._set(answer, updated_at)

    def latestRoundData(self):
        return (self.round_id, self.answer, self.updated_at, self.updated_at, self.round_id)

    def latestAnswer(self) -> int:
        return self.answer
