"""Twin of contracts/Lens.vy: many token balances in one call, and a
position's health (the engine's rule, model/engine.py's health: on chain
it moved out of the engine for code size)."""
from .engine import Health  # noqa: F401 - the struct Lens.vy declares
from .errors import Revert
from .journal import Mapping

MAX_HOLDERS = 1024


class Lens:
    """Resolves a token address through `contracts` (address -> model
    contract), as the chain resolves a staticcall's target."""

    def __init__(self, address: str, contracts):
        self.address = address
        self.contracts = contracts

    def balances(self, token: str, holders: list) -> list:
        if len(holders) > MAX_HOLDERS:
            raise Revert(None)      # the ABI decoder refuses a longer DynArray
        c = self.contracts[token]
        if c is None:
            raise Revert(None)      # no contract there
        balance_of = c.balanceOf
        if isinstance(balance_of, Mapping):
            return [balance_of[h] for h in holders]
        return [balance_of(h) for h in holders]

    def health(self, engine: str, position_id: int) -> Health:
        e = self.contracts[engine]
        if e is None:
            raise Revert(None)      # no contract there
        return e.health(position_id)
