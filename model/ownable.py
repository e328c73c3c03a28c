"""Twins of snekmate's auth/ownable.vy and auth/ownable_2step.vy.

Mixins for model contracts: the engine initializes both (two-step
transfers), the ERC20s ownable alone. Reasons are snekmate's.
"""
from dataclasses import dataclass

from .env import ZERO_ADDRESS
from .errors import require
from .events import Event
from .journal import external


@dataclass(frozen=True, slots=True)
class OwnershipTransferred(Event):
    previous_owner: str
    new_owner: str


@dataclass(frozen=True, slots=True)
class OwnershipTransferStarted(Event):
    previous_owner: str
    new_owner: str


class Ownable:
    def __init__(self, owner: str):
        """Twin of ownable.__init__: the deployer (msg.sender) owns it."""
        self.owner = ZERO_ADDRESS
        self._transfer_ownership(owner)

    def _check_owner(self, *, sender: str) -> None:
        require(sender == self.owner, "ownable: caller is not the owner")

    def _transfer_ownership(self, new_owner: str) -> None:
        old_owner = self.owner
        self.owner = new_owner
        self._emit(OwnershipTransferred(old_owner, new_owner))


class Ownable2Step(Ownable):
    def __init__(self, owner: str):
        """Twin of ownable.__init__ then ownable_2step.__init__."""
        self.pending_owner = ZERO_ADDRESS
        Ownable.__init__(self, owner)

    @external
    def transfer_ownership(self, new_owner: str, *, sender: str) -> None:
        """Step one of two (ownable_2step): the owner names `new_owner`, who must accept."""
        self._check_owner(sender=sender)
        self.pending_owner = new_owner
        self._emit(OwnershipTransferStarted(self.owner, new_owner))

    @external
    def accept_ownership(self, *, sender: str) -> None:
        """Step two: the named owner takes over (until then the old owner stays)."""
        require(self.pending_owner == sender, "ownable_2step: caller is not the new owner")
        self._transfer_ownership(sender)

    def _transfer_ownership(self, new_owner: str) -> None:
        """Twin of ownable_2step._transfer_ownership: also drops a pending owner."""
        self.pending_owner = ZERO_ADDRESS
        Ownable._transfer_ownership(self, new_owner)
