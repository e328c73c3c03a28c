"""Twin of contracts/modules/positions.vy: vault slots, their positions and
the recycled-vault stack.

Slot v owns vault _vault(v) for good, and a position id is
(v << GEN_BITS | generation), unique for ever although slots are recycled.
The model stores whole Position records (slots_) where the contract packs
three words; _store still checks the 128-bit bounds of the packing.
A closed slot's next-free link is free_next[slot] (on chain: word1).
"""
from dataclasses import dataclass, replace

from .env import ZERO_ADDRESS
from .errors import require
from .events import Event
from .risk import MAX_U128, Position, _reserve

GEN_BITS = 32
GEN_MASK = 2**32 - 1
# Where the contract packs the generation in word0: its top 32 bits.
GEN_SHIFT = 224
# The end of the recycled-vault stack (non-zero on chain: cheaper pushes).
FREE_END = 2**256 - 1
# The engine's nonces 1..5 create the vault implementation, the insurance
# vault, the pool, the order book and the market rules; vault slot v is
# created with nonce 5 + v.
NONCE_BEFORE_VAULTS = 5
MAX_PAGE = 100
# CREATE nonces this module encodes stay below 2**32 (see _created_address).
U32 = 2**32 - 1


@dataclass(frozen=True)
class PositionView:
    position_id: int
    slot: int
    vault: str
    is_open: bool
    owner: str
    market_id: int
    is_long: bool
    size: int
    collateral: int
    entry_price: int
    entry_index: int
    max_profit_bps: int
    reserve: int
    maintenance_margin_bps: int = 0
    liquidation_fee_bps: int = 0


EMPTY_VIEW = PositionView(0, 0, ZERO_ADDRESS, False, ZERO_ADDRESS, 0, False, 0, 0, 0, 0, 0, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class VaultCreated(Event):
    slot: int
    vault: str


@dataclass(frozen=True, slots=True)
class VaultRetired(Event):
    slot: int
    vault: str


def position_id_of(slot: int, generation: int) -> int:
    return (slot << GEN_BITS) | generation


class Positions:
    """Mixin of the model Engine. Vault addresses come from `vault_address`
    (the chain's CREATE addresses, passed in by a harness)."""

    def __init__(self):
        self.open_positions = 0
        self.vault_count = 0
        self._vaults = self.mapping(ZERO_ADDRESS)
        self.slots_ = self.mapping(Position())
        self.free_next = self.mapping()
        self.free_head = FREE_END

    def _read(self, slot: int) -> Position:
        return self.slots_[slot]

    def _store(self, slot: int, pos: Position) -> None:
        require(pos.size <= MAX_U128, "engine: size too large")
        require(pos.collateral <= MAX_U128, "engine: collateral too large")
        self.slots_[slot] = pos

    def _store_collateral(self, slot: int, pos: Position) -> None:
        """_store for a change of collateral alone (word1 on chain)."""
        require(pos.collateral <= MAX_U128, "engine: collateral too large")
        self.slots_[slot] = pos

    def _load(self, position_id: int):
        """(slot, position) of an open position; reverts for any other id."""
        slot = position_id >> GEN_BITS
        pos = self._read(slot)
        require(pos.is_open and pos.generation == position_id & GEN_MASK, "engine: position not open")
        return slot, pos

    def _owner_of(self, position_id: int) -> str:
        """The owner of an open position; the zero address for any other id."""
        pos = self._read(position_id >> GEN_BITS)
        if not pos.is_open or pos.generation != position_id & GEN_MASK:
            return ZERO_ADDRESS
        return pos.owner

    def _load_owned(self, position_id: int, owner: str):
        """_load for `owner` only: the trader an order names, or msg.sender."""
        slot, pos = self._load(position_id)
        require(pos.owner == owner, "engine: caller is not the position owner")
        return slot, pos

    def _take_slot(self, implementation: str, insurance: str) -> int:
        """Recycle the most recently freed vault (LIFO), else create one; a
        recycled vault the token refuses alone (Vault.frozen) is retired
        and a new one created. `implementation` is what the new vault
        proxies; the model's vault twin needs none, since its address comes
        from `_vault`."""
        slot = self.free_head
        if slot != FREE_END:
            self.free_head = self.free_next[slot]
            vault = self._vault(slot)
            if not self._vault_at(vault).frozen(self._vault_at(insurance), sender=self.address):
                return slot
            self._emit(VaultRetired(slot, vault))
        slot = self.vault_count + 1
        require(slot + NONCE_BEFORE_VAULTS <= U32, "engine: vault slots exhausted")
        self.vault_count = slot
        vault = self._vault(slot)
        self._vaults[slot] = vault
        self._emit(VaultCreated(slot, vault))
        return slot

    def _created_address(self, nonce: int) -> str:
        """The address of the engine's nonce-th CREATE. The model does not
        hash: it names what the constructor's nonces 1..5 made and asks
        `vault_address` for the vaults' (nonce 5 + slot)."""
        if nonce > NONCE_BEFORE_VAULTS:
            return self.vault_address(nonce - NONCE_BEFORE_VAULTS)
        return (self.VAULT_IMPLEMENTATION, self.INSURANCE, self.POOL, self.ORDERS, self.RULES)[nonce - 1]

    def _vault(self, slot: int) -> str:
        # A function of the slot alone: remembered from its creation rather
        # than asking vault_address (a keccak in the harness) on every call.
        vault = self._vaults[slot]
        return vault if vault != ZERO_ADDRESS else self._created_address(slot + NONCE_BEFORE_VAULTS)

    def _release_slot(self, slot: int) -> None:
        """Close the slot and push it on the free stack; the next opener
        rewrites every field and bumps the generation. Open interest and
        total_reserved are the engine's to release (Engine._release)."""
        self.slots_[slot] = replace(self.slots_[slot], is_open=False)
        self.free_next[slot] = self.free_head
        self.free_head = slot
        self.open_positions -= 1

    def _retire(self, slot: int, vault: str) -> None:
        """Take the slot _release_slot just pushed back off the free stack
        (an exit found its vault frozen): never used again."""
        self.free_head = self.free_next[slot]
        self._emit(VaultRetired(slot, vault))

    def _existing_vault(self, slot: int) -> str:
        if slot == 0 or slot > self.vault_count:
            return ZERO_ADDRESS
        return self._vault(slot)

    def _view(self, slot: int) -> PositionView:
        pos = self._read(slot)
        vault = self._vaults[slot]   # _existing_vault(slot): written once, when the slot is created
        if not pos.is_open:
            return PositionView(0, slot, vault, False, ZERO_ADDRESS, 0, False, 0, 0, 0, 0, 0, 0, 0, 0)
        return PositionView(position_id_of(slot, pos.generation), slot, vault, True, pos.owner, pos.market_id,
                            pos.is_long, pos.size, pos.collateral, pos.entry_price, pos.entry_index,
                            pos.max_profit_bps, _reserve(pos.size, pos.max_profit_bps),
                            pos.maintenance_margin_bps, pos.liquidation_fee_bps)
