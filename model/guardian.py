"""Twin of contracts/modules/guardian.vy: who may pause, and what pausing
blocks (open, increase, collateral removal)."""
from dataclasses import dataclass

from .errors import require
from .events import Event


@dataclass(frozen=True, slots=True)
class GuardianSet(Event):
    guardian: str


@dataclass(frozen=True, slots=True)
class Paused(Event):
    account: str


@dataclass(frozen=True, slots=True)
class Unpaused(Event):
    account: str


class Guardian:
    """Mixin of the model Engine; the owner comes from Ownable."""

    def __init__(self, guardian: str):
        self.paused = False
        self.guardian = guardian

    def _not_paused(self) -> None:
        require(not self.paused, "engine: paused")

    def _check_guardian(self, *, sender: str) -> None:
        require(sender == self.guardian or sender == self.owner, "engine: caller is not the guardian")
