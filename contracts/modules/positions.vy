# pragma version ~=0.4.3
"""
@title isomargin positions: packed position slots and the recycled-vault stack
@custom:contract-name positions
@notice Positions live in vault slots: slot v owns vault _vault(v) for good
        (its CREATE address, computed, never stored), and a position id is
        (v << 32 | generation), unique for ever although slots are recycled.
        Each slot is three packed words (see _store), so a trade reads three
        cold slots, not ten. model/positions.py is the Python twin.
"""
from . import risk
from ..interfaces import IVault


# @dev A position id is (slot << GEN_BITS | generation).
GEN_BITS: constant(uint256) = 32
GEN_MASK: constant(uint256) = 2**32 - 1
# @dev Where word0 keeps the generation: its top 32 bits.
GEN_SHIFT: constant(uint256) = 224


# @dev Marks the end of the recycled-vault stack. Non-zero, so that pushing
# onto an empty stack rewrites a non-zero slot (2.9k gas) instead of 20k.
FREE_END: constant(uint256) = max_value(uint256)


# @dev The engine's own nonces 1..5 create the vault implementation, the
# insurance vault, the pool, the order book and the market rules; vault
# slot v is created with nonce 5 + v.
NONCE_BEFORE_VAULTS: constant(uint256) = 5


# @dev The most slots `Engine.slots` returns in one page.
MAX_PAGE: constant(uint256) = 100


# @dev Vault nonces stay below 2**32, the largest the address rule covers.
U32: constant(uint256) = 2**32 - 1


# @dev A slot and its current position as views and tools see it.
struct PositionView:
    position_id: uint256
    slot: uint256
    vault: address
    is_open: bool
    owner: address
    market_id: uint256
    is_long: bool
    size: uint256
    collateral: uint256
    entry_price: uint256
    entry_index: uint256
    max_profit_bps: uint256
    reserve: uint256
    maintenance_margin_bps: uint256
    liquidation_fee_bps: uint256


# @dev Emitted when a slot's vault is created (only the first time the slot
# is used: recycled slots keep their vault).
event VaultCreated:
    slot: indexed(uint256)
    vault: indexed(address)


# @dev Emitted when a slot leaves use for good: its vault is frozen by the
# token (found so by an exit, or by an open taking it off the free stack).
event VaultRetired:
    slot: indexed(uint256)
    vault: indexed(address)


# @dev Slot words (see _store):
#   word0: owner | market_id << 160 | is_long << 176 | is_open << 177
#          | max_profit_bps << 178 (17 bits) | maintenance_margin_bps << 195
#          (14 bits) | liquidation_fee_bps << 209 (10 bits) | generation << 224
#          (markets._check_params keeps each bps field within its width)
#   word1: size | collateral << 128   (a closed slot: next free slot)
#   word2: entry_price | entry_index << 128
pos_word0: HashMap[uint256, uint256]
pos_word1: HashMap[uint256, uint256]
pos_word2: HashMap[uint256, uint256]


# @dev Top of the recycled-vault stack (FREE_END when empty).
free_head: uint256


# @dev Number of vault slots ever created (slots are 1..vault_count).
vault_count: public(uint256)


# @dev Number of positions open now.
open_positions: public(uint256)


@deploy
def __init__():
    """
    @dev Starts with an empty recycled-vault stack.
    """
    self.free_head = FREE_END


@internal
@view
def _read(slot: uint256) -> risk.Position:
    """
    @dev Unpacks a slot's three words, open or not.
    @param slot The vault slot.
    @return Position The slot's (possibly closed) position.
    """
    w0: uint256 = self.pos_word0[slot]
    w1: uint256 = self.pos_word1[slot]
    w2: uint256 = self.pos_word2[slot]
    return risk.Position(
        owner=convert(convert(w0 & (2**160 - 1), uint160), address),
        market_id=(w0 >> 160) & 65535,
        is_long=((w0 >> 176) & 1) == 1,
        max_profit_bps=(w0 >> 178) & (2**17 - 1),
        maintenance_margin_bps=(w0 >> 195) & (2**14 - 1),
        liquidation_fee_bps=(w0 >> 209) & (2**10 - 1),
        generation=w0 >> GEN_SHIFT,
        is_open=((w0 >> 177) & 1) == 1,
        size=w1 & risk.MAX_U128,
        collateral=w1 >> 128,
        entry_price=w2 & risk.MAX_U128,
        entry_index=w2 >> 128,
    )


@internal
def _store(slot: uint256, pos: risk.Position):
    """
    @dev Packs a position into its slot. Size and collateral are checked
         here, where they would otherwise spill into the next field; the
         other fields are bounded by their sources (market ids, bps bounds,
         the generation check, the oracle's price range, the index check).
    @param slot The vault slot.
    @param pos The position to write.
    """
    assert pos.size <= risk.MAX_U128, "engine: size too large"
    assert pos.collateral <= risk.MAX_U128, "engine: collateral too large"
    w0: uint256 = convert(convert(pos.owner, uint160), uint256)
    w0 |= pos.market_id << 160
    w0 |= convert(pos.is_long, uint256) << 176
    w0 |= convert(pos.is_open, uint256) << 177
    w0 |= pos.max_profit_bps << 178
    w0 |= pos.maintenance_margin_bps << 195
    w0 |= pos.liquidation_fee_bps << 209
    w0 |= pos.generation << GEN_SHIFT
    self.pos_word0[slot] = w0
    self.pos_word1[slot] = pos.size | (pos.collateral << 128)
    self.pos_word2[slot] = pos.entry_price | (pos.entry_index << 128)


@internal
def _store_collateral(slot: uint256, pos: risk.Position):
    """
    @dev _store for a change of collateral alone (add_collateral): word1
         only, one SSTORE where _store makes three (two of them no-ops).
    @param slot The vault slot.
    @param pos The position, unchanged but for its collateral.
    """
    assert pos.collateral <= risk.MAX_U128, "engine: collateral too large"
    self.pos_word1[slot] = pos.size | (pos.collateral << 128)


@internal
@view
def _load(position_id: uint256) -> (uint256, risk.Position):
    """
    @dev Reads an open position by id; an id whose slot was recycled (other
         generation) or closed is not open.
    @param position_id The position id.
    @return uint256 The vault slot.
    @return Position The position.
    """
    slot: uint256 = position_id >> GEN_BITS
    pos: risk.Position = self._read(slot)
    assert pos.is_open and pos.generation == position_id & GEN_MASK, "engine: position not open"
    return slot, pos


@internal
@view
def _owner_of(position_id: uint256) -> address:
    """
    @dev Who owns an open position, from its first word alone (the order
         book's check on a close request); the empty address when the id
         is not open.
    @param position_id The position id.
    @return address The owner.
    """
    w0: uint256 = self.pos_word0[position_id >> GEN_BITS]
    if (w0 >> 177) & 1 == 0 or w0 >> GEN_SHIFT != position_id & GEN_MASK:
        return empty(address)
    return convert(convert(w0 & (2**160 - 1), uint160), address)


@internal
@view
def _load_owned(position_id: uint256, owner: address) -> (uint256, risk.Position):
    """
    @dev _load, for the position's owner only. One copy of each check (and
         of its reason string) keeps the engine under the 24 KiB code-size
         limit. The owner is passed in: trades come through the order book,
         so the trader is an argument, not msg.sender.
    @param position_id The position id.
    @param owner Who must own the position.
    @return uint256 The vault slot.
    @return Position The position.
    """
    slot: uint256 = 0
    pos: risk.Position = empty(risk.Position)
    slot, pos = self._load(position_id)
    assert pos.owner == owner, "engine: caller is not the position owner"
    return slot, pos


@internal
def _take_slot(implementation: address, insurance: address) -> uint256:
    """
    @dev Recycles the most recently freed vault (LIFO), else creates one.
         A recycled vault the token refuses to move from (a blacklisted
         vault: Vault.frozen) is retired instead, and a new vault taken:
         one such vault on top of the free stack cannot make every open
         revert. A new vault must land on the address _vault computes,
         which is what lets every trade compute it instead of reading it.
    @param implementation The vault implementation the new vault proxies
           (the engine's VAULT_IMPLEMENTATION immutable).
    @param insurance The insurance vault (the control of Vault.frozen).
    @return uint256 The slot for the new position.
    """
    slot: uint256 = self.free_head
    if slot != FREE_END:
        self.free_head = self.pos_word1[slot]
        vault: address = self._vault(slot)
        if not extcall IVault(vault).frozen(insurance):
            return slot
        log VaultRetired(slot=slot, vault=vault)
    slot = self.vault_count + 1
    assert slot + NONCE_BEFORE_VAULTS <= U32, "engine: vault slots exhausted"
    self.vault_count = slot
    vault: address = create_minimal_proxy_to(implementation)
    assert vault == self._vault(slot), "engine: nonce rule"
    log VaultCreated(slot=slot, vault=vault)
    return slot


@internal
def _release_slot(slot: uint256):
    """
    @dev Closes a slot's position and pushes the slot onto the recycled-vault
         stack. Only word0 keeps its meaning (owner, generation): the next
         opener rewrites every field and bumps the generation, so a recycled
         vault carries no value and no permission from this position. Open
         interest and total_reserved are the engine's to release (see
         Engine._release).
    @param slot The vault slot of an open position.
    """
    w0: uint256 = self.pos_word0[slot]
    self.pos_word0[slot] = w0 & ~(1 << 177)
    self.pos_word1[slot] = self.free_head
    self.free_head = slot
    self.open_positions -= 1


@internal
def _retire(slot: uint256, vault: address):
    """
    @dev Takes a slot _release_slot has just pushed back off the free
         stack (an exit found its vault frozen): it is never used again.
    @param slot The slot on top of the free stack.
    @param vault Its vault (the caller has it at hand).
    """
    self.free_head = self.pos_word1[slot]
    log VaultRetired(slot=slot, vault=vault)


@internal
@view
def _vault(slot: uint256) -> address:
    """
    @dev A slot's vault: the engine's CREATE address for nonce 5 + slot.
    @param slot The vault slot (need not exist yet).
    @return address The vault's address.
    """
    return self._created_address(slot + NONCE_BEFORE_VAULTS)


@internal
@view
def _existing_vault(slot: uint256) -> address:
    """
    @dev _vault for slots that exist, so views never name an address that
         holds no vault.
    @param slot The vault slot.
    @return address The vault, or the empty address.
    """
    if slot == 0 or slot > self.vault_count:
        return empty(address)
    return self._vault(slot)


@internal
@view
def _view(slot: uint256) -> PositionView:
    """
    @dev A slot and its open position; a closed slot shows only its slot
         and vault.
    @param slot The vault slot.
    @return PositionView The slot's view.
    """
    pos: risk.Position = self._read(slot)
    v: PositionView = empty(PositionView)
    v.slot = slot
    v.vault = self._existing_vault(slot)
    if not pos.is_open:
        return v
    v.position_id = (slot << GEN_BITS) | pos.generation
    v.is_open = True
    v.owner = pos.owner
    v.market_id = pos.market_id
    v.is_long = pos.is_long
    v.size = pos.size
    v.collateral = pos.collateral
    v.entry_price = pos.entry_price
    v.entry_index = pos.entry_index
    v.max_profit_bps = pos.max_profit_bps
    v.reserve = risk._reserve(pos.size, pos.max_profit_bps)
    v.maintenance_margin_bps = pos.maintenance_margin_bps
    v.liquidation_fee_bps = pos.liquidation_fee_bps
    return v


@internal
@view
def _created_address(nonce: uint256) -> address:
    """
    @dev keccak256(rlp([self, nonce]))[12:], for nonces below 2**32.
         Not snekmate's `create._compute_create_address_self`, measured in
         its place: it covers nonces up to 2**64 and costs 143 more gas per
         call (a trade computes one vault address) and 1,174 more bytes of
         engine code, which would leave 26 bytes under EIP-170's limit.
    @param nonce The engine's CREATE nonce.
    @return address The address a CREATE with that nonce deploys to.
    """
    me: bytes20 = convert(self, bytes20)
    encoded: Bytes[27] = b""
    if nonce < 128:
        encoded = concat(b"\xd6\x94", me, convert(convert(nonce, uint8), bytes1))
    elif nonce < 2**8:
        encoded = concat(b"\xd7\x94", me, b"\x81", convert(convert(nonce, uint8), bytes1))
    elif nonce < 2**16:
        encoded = concat(b"\xd8\x94", me, b"\x82", convert(convert(nonce, uint16), bytes2))
    elif nonce < 2**24:
        encoded = concat(b"\xd9\x94", me, b"\x83", convert(convert(nonce, uint24), bytes3))
    else:
        encoded = concat(b"\xda\x94", me, b"\x84", convert(convert(nonce, uint32), bytes4))
    return convert(convert(convert(keccak256(encoded), uint256) & (2**160 - 1), uint160), address)
