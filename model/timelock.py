"""Twin of contracts/Timelock.vy: snekmate's governance/timelock_controller,
the engine's owner once deployed (harness/live/netdeploy.py).

Same function names, argument order, check order, reasons, events and
constants as snekmate's module (and access_control's, model/access_control.py).
An operation's id is keccak256 of its ABI-encoded fields, computed here
as on chain, so ids match and a harness can compare them.

An operation's payload is calldata. The model knows no ABI: whoever builds
the twin passes `decode(target, payload) -> (fn, args)`, or None for a
selector the target does not have (harness.chains.contracts.call_decoder
builds it from the compiled ABIs), and `contracts`, the model contracts by
address, the timelock itself included. A call to an address with no
contract succeeds and does nothing, as raw_call to an account does.
Ether is not modelled: no protocol operation carries any, and an amount
other than 0 raises ValueError rather than pass as what the chain does.

keccak256 is written out below (the Keccak team's compact reference,
CompactFIPS202.py): the model imports nothing outside the standard
library, and hashlib's sha3_256 pads differently.
"""
from dataclasses import dataclass
from typing import Callable, Optional

from .access_control import DEFAULT_ADMIN_ROLE, AccessControl, RoleAdminChanged, RoleGranted, RoleRevoked  # noqa: F401
from .env import ZERO_ADDRESS, Env
from .errors import Revert, require
from .events import Event
from .journal import Contract, Journal, external

# ---------------------------------------------------------------- keccak256


def _rol(a: int, n: int) -> int:
    return ((a >> (64 - (n % 64))) + (a << (n % 64))) % (1 << 64)


def _keccak_f1600(lanes):
    r = 1
    for _ in range(24):
        c = [lanes[x][0] ^ lanes[x][1] ^ lanes[x][2] ^ lanes[x][3] ^ lanes[x][4] for x in range(5)]
        d = [c[(x + 4) % 5] ^ _rol(c[(x + 1) % 5], 1) for x in range(5)]
        lanes = [[lanes[x][y] ^ d[x] for y in range(5)] for x in range(5)]
        x, y = 1, 0
        current = lanes[x][y]
        for t in range(24):
            x, y = y, (2 * x + 3 * y) % 5
            current, lanes[x][y] = lanes[x][y], _rol(current, (t + 1) * (t + 2) // 2)
        for y in range(5):
            row = [lanes[x][y] for x in range(5)]
            for x in range(5):
                lanes[x][y] = row[x] ^ ((~row[(x + 1) % 5]) & row[(x + 2) % 5])
        for j in range(7):
            r = ((r << 1) ^ ((r >> 7) * 0x71)) % 256
            if r & 2:
                lanes[0][0] ^= 1 << ((1 << j) - 1)
    return lanes


def _permute(state: bytearray) -> None:
    lanes = [[int.from_bytes(state[8 * (x + 5 * y):8 * (x + 5 * y) + 8], "little") for y in range(5)]
             for x in range(5)]
    lanes = _keccak_f1600(lanes)
    for x in range(5):
        for y in range(5):
            state[8 * (x + 5 * y):8 * (x + 5 * y) + 8] = lanes[x][y].to_bytes(8, "little")


def keccak256(data: bytes) -> bytes:
    """Ethereum's keccak256 (Keccak[r=1088, c=512], padding 0x01...0x80)."""
    rate = 136
    state = bytearray(200)
    data = bytes(data)
    while len(data) >= rate:
        for i in range(rate):
            state[i] ^= data[i]
        _permute(state)
        data = data[rate:]
    for i, b in enumerate(data):
        state[i] ^= b
    state[len(data)] ^= 0x01
    state[rate - 1] ^= 0x80
    _permute(state)
    return bytes(state[:32])


# ---------------------------------------------------------------- abi_encode, of the few types hashed here

def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _address_word(address: str) -> bytes:
    try:
        raw = bytes.fromhex(address[2:]) if address.startswith("0x") and len(address) == 42 else None
    except ValueError:
        raw = None
    if raw is None:
        # A model-only world names its accounts ("owner"): give each name a
        # fixed 20-byte stand-in so ids stay distinct and deterministic.
        raw = keccak256(address.encode())[12:]
    return bytes(12) + raw


def _bytes_tail(data: bytes) -> bytes:
    padded = bytes(data) + bytes(-len(data) % 32)
    return _word(len(data)) + padded


def _bytes_array_tail(items) -> bytes:
    heads, tails = b"", b""
    offset = 32 * len(items)
    for item in items:
        heads += _word(offset + len(tails))
        tails += _bytes_tail(item)
    return _word(len(items)) + heads + tails


def _tuple(parts) -> bytes:
    """parts: (dynamic, encoding); a dynamic part goes to the tail behind an offset."""
    head_size = 32 * len(parts)
    heads, tails = b"", b""
    for dynamic, enc in parts:
        if dynamic:
            heads += _word(head_size + len(tails))
            tails += enc
        else:
            heads += enc
    return heads + tails


# ---------------------------------------------------------------- the contract's constants

PROPOSER_ROLE = keccak256(b"PROPOSER_ROLE")
EXECUTOR_ROLE = keccak256(b"EXECUTOR_ROLE")
CANCELLER_ROLE = keccak256(b"CANCELLER_ROLE")
IERC721_TOKENRECEIVER_SELECTOR = bytes.fromhex("150b7a02")
IERC1155_TOKENRECEIVER_SINGLE_SELECTOR = bytes.fromhex("f23a6e61")
IERC1155_TOKENRECEIVER_BATCH_SELECTOR = bytes.fromhex("bc197c81")
_SUPPORTED_INTERFACES = (bytes.fromhex("01ffc9a7"), bytes.fromhex("7965db0b"), bytes.fromhex("4e2312e0"))
_DONE_TIMESTAMP = 1
_DYNARRAY_BOUND = 255
# flag OperationState: Vyper numbers a flag's members 2**n.
UNSET = 1
WAITING = 2
READY = 4
DONE = 8

NOT_TIMELOCK = "timelock_controller: caller must be timelock"
NOT_READY = "timelock_controller: operation is not ready"
UNDERLYING = "timelock_controller: underlying transaction reverted"
# raw_call keeps at most 255 bytes of a revert (max_outsize): an
# Error(string) whose reason is longer than this arrives cut.
MAX_BUBBLED_REASON = 160


@dataclass(frozen=True, slots=True)
class CallScheduled(Event):
    id: bytes
    index: int
    target: str
    amount: int
    payload: bytes
    predecessor: bytes
    delay: int


@dataclass(frozen=True, slots=True)
class CallExecuted(Event):
    id: bytes
    index: int
    target: str
    amount: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class CallSalt(Event):
    id: bytes
    salt: bytes


@dataclass(frozen=True, slots=True)
class Cancelled(Event):
    id: bytes


@dataclass(frozen=True, slots=True)
class MinimumDelayChange(Event):
    old_duration: int
    new_duration: int


class Timelock(AccessControl, Contract):
    PROPOSER_ROLE = PROPOSER_ROLE
    EXECUTOR_ROLE = EXECUTOR_ROLE
    CANCELLER_ROLE = CANCELLER_ROLE
    IERC721_TOKENRECEIVER_SELECTOR = IERC721_TOKENRECEIVER_SELECTOR
    IERC1155_TOKENRECEIVER_SINGLE_SELECTOR = IERC1155_TOKENRECEIVER_SINGLE_SELECTOR
    IERC1155_TOKENRECEIVER_BATCH_SELECTOR = IERC1155_TOKENRECEIVER_BATCH_SELECTOR

    def __init__(self, journal: Journal, env: Env, address: str, contracts, decode: Callable[[str, bytes], Optional[tuple]],
                 minimum_delay_: int, proposers_, executors_, admin_: str, *, sender: str):
        """Twin of Timelock.__init__: access_control.__init__, then
        timelock_controller.__init__, events in the same order."""
        Contract.__init__(self, journal)
        self.address = address
        self.env = env
        self._contracts = contracts
        self._decode = decode
        self.get_timestamp = self.mapping(0)
        self.get_minimum_delay = 0
        require(len(proposers_) <= _DYNARRAY_BOUND and len(executors_) <= _DYNARRAY_BOUND, None)
        AccessControl.__init__(self, sender=sender)
        self._grant_role(DEFAULT_ADMIN_ROLE, address, sender=sender)
        self._revoke_role(DEFAULT_ADMIN_ROLE, sender, sender=sender)
        if admin_ != ZERO_ADDRESS:
            self._grant_role(DEFAULT_ADMIN_ROLE, admin_, sender=sender)
        for proposer in proposers_:
            self._grant_role(PROPOSER_ROLE, proposer, sender=sender)
            self._grant_role(CANCELLER_ROLE, proposer, sender=sender)
        for executor in executors_:
            self._grant_role(EXECUTOR_ROLE, executor, sender=sender)
        self.get_minimum_delay = minimum_delay_
        self._emit(MinimumDelayChange(0, minimum_delay_))

    # ---------------------------------------------------------------- views

    def supportsInterface(self, interface_id: bytes) -> bool:
        return interface_id in _SUPPORTED_INTERFACES

    def is_operation(self, id: bytes) -> bool:
        return self._is_operation(id)

    def is_operation_pending(self, id: bytes) -> bool:
        return self._is_operation_pending(id)

    def is_operation_ready(self, id: bytes) -> bool:
        return self._is_operation_ready(id)

    def is_operation_done(self, id: bytes) -> bool:
        return self._is_operation_done(id)

    def get_operation_state(self, id: bytes) -> int:
        return self._get_operation_state(id)

    def hash_operation(self, target: str, amount: int, payload: bytes, predecessor: bytes, salt: bytes) -> bytes:
        return self._hash_operation(target, amount, payload, predecessor, salt)

    def hash_operation_batch(self, targets, amounts, payloads, predecessor: bytes, salt: bytes) -> bytes:
        return self._hash_operation_batch(targets, amounts, payloads, predecessor, salt)

    # ---------------------------------------------------------------- proposals

    @external
    def schedule(self, target: str, amount: int, payload: bytes, predecessor: bytes, salt: bytes, delay: int, *,
                 sender: str) -> None:
        self._check_role(PROPOSER_ROLE, sender)
        id = self._hash_operation(target, amount, payload, predecessor, salt)
        self._schedule(id, delay)
        self._emit(CallScheduled(id, 0, target, amount, bytes(payload), predecessor, delay))
        if salt != bytes(32):
            self._emit(CallSalt(id, salt))

    @external
    def schedule_batch(self, targets, amounts, payloads, predecessor: bytes, salt: bytes, delay: int, *,
                       sender: str) -> None:
        self._check_role(PROPOSER_ROLE, sender)
        require(len(targets) == len(amounts) and len(targets) == len(payloads), "timelock_controller: length mismatch")
        id = self._hash_operation_batch(targets, amounts, payloads, predecessor, salt)
        self._schedule(id, delay)
        for idx, target in enumerate(targets):
            self._emit(CallScheduled(id, idx, target, amounts[idx], bytes(payloads[idx]), predecessor, delay))
        if salt != bytes(32):
            self._emit(CallSalt(id, salt))

    @external
    def cancel(self, id: bytes, *, sender: str) -> None:
        self._check_role(CANCELLER_ROLE, sender)
        require(self._is_operation_pending(id), "timelock_controller: operation cannot be cancelled")
        self.get_timestamp[id] = 0
        self._emit(Cancelled(id))

    @external
    def execute(self, target: str, amount: int, payload: bytes, predecessor: bytes, salt: bytes, *,
                sender: str) -> None:
        self._only_role_or_open_role(EXECUTOR_ROLE, sender=sender)
        id = self._hash_operation(target, amount, payload, predecessor, salt)
        self._before_call(id, predecessor)
        self._execute(target, amount, payload)
        self._emit(CallExecuted(id, 0, target, amount, bytes(payload)))
        self._after_call(id)

    @external
    def execute_batch(self, targets, amounts, payloads, predecessor: bytes, salt: bytes, *, sender: str) -> None:
        self._only_role_or_open_role(EXECUTOR_ROLE, sender=sender)
        require(len(targets) == len(amounts) and len(targets) == len(payloads), "timelock_controller: length mismatch")
        id = self._hash_operation_batch(targets, amounts, payloads, predecessor, salt)
        self._before_call(id, predecessor)
        for idx, target in enumerate(targets):
            self._execute(target, amounts[idx], payloads[idx])
            self._emit(CallExecuted(id, idx, target, amounts[idx], bytes(payloads[idx])))
        self._after_call(id)

    @external
    def update_delay(self, new_delay: int, *, sender: str) -> None:
        require(sender == self.address, NOT_TIMELOCK)
        self._emit(MinimumDelayChange(self.get_minimum_delay, new_delay))
        self.get_minimum_delay = new_delay

    # ---------------------------------------------------------------- token receipts

    def onERC721Received(self, operator: str, owner: str, token_id: int, data: bytes, *, sender: str = "") -> bytes:
        return IERC721_TOKENRECEIVER_SELECTOR

    def onERC1155Received(self, operator: str, owner: str, id: int, amount: int, data: bytes, *,
                          sender: str = "") -> bytes:
        return IERC1155_TOKENRECEIVER_SINGLE_SELECTOR

    def onERC1155BatchReceived(self, operator: str, owner: str, ids, amounts, data: bytes, *,
                               sender: str = "") -> bytes:
        return IERC1155_TOKENRECEIVER_BATCH_SELECTOR

    # ---------------------------------------------------------------- internals

    def _is_operation(self, id: bytes) -> bool:
        return self._get_operation_state(id) != UNSET

    def _is_operation_pending(self, id: bytes) -> bool:
        return self._get_operation_state(id) in (WAITING, READY)

    def _is_operation_ready(self, id: bytes) -> bool:
        return self._get_operation_state(id) == READY

    def _is_operation_done(self, id: bytes) -> bool:
        return self._get_operation_state(id) == DONE

    def _get_operation_state(self, id: bytes) -> int:
        timestamp = self.get_timestamp[id]
        if timestamp == 0:
            return UNSET
        if timestamp == _DONE_TIMESTAMP:
            return DONE
        if timestamp > self.env.timestamp:
            return WAITING
        return READY

    @staticmethod
    def _hash_operation(target: str, amount: int, payload: bytes, predecessor: bytes, salt: bytes) -> bytes:
        return keccak256(_tuple([(False, _address_word(target)), (False, _word(amount)),
                                 (True, _bytes_tail(payload)), (False, bytes(predecessor)), (False, bytes(salt))]))

    @staticmethod
    def _hash_operation_batch(targets, amounts, payloads, predecessor: bytes, salt: bytes) -> bytes:
        return keccak256(_tuple([
            (True, _word(len(targets)) + b"".join(_address_word(t) for t in targets)),
            (True, _word(len(amounts)) + b"".join(_word(a) for a in amounts)),
            (True, _bytes_array_tail(payloads)),
            (False, bytes(predecessor)), (False, bytes(salt))]))

    def _schedule(self, id: bytes, delay: int) -> None:
        require(not self._is_operation(id), "timelock_controller: operation already scheduled")
        require(delay >= self.get_minimum_delay, "timelock_controller: insufficient delay")
        timestamp = self.env.timestamp + delay
        require(timestamp < 2**256, None)
        self.get_timestamp[id] = timestamp

    def _execute(self, target: str, amount: int, payload: bytes) -> None:
        if amount:
            raise ValueError("model.timelock: ether is not modelled (an operation with an amount)")
        contract = self._contracts.get(target)
        if contract is None:
            return
        call = self._decode(target, bytes(payload))
        if call is None:
            # No such function and no __default__: a revert with no data.
            raise Revert(UNDERLYING)
        fn, args = call
        try:
            getattr(contract, fn)(*args, sender=self.address)
        except Revert as err:
            if err.reason is None or len(err.reason.encode()) > MAX_BUBBLED_REASON:
                raise Revert(UNDERLYING if err.reason is None else None) from err
            raise

    def _before_call(self, id: bytes, predecessor: bytes) -> None:
        require(self._is_operation_ready(id), NOT_READY)
        require(predecessor == bytes(32) or self._is_operation_done(predecessor),
                "timelock_controller: missing dependency")

    def _after_call(self, id: bytes) -> None:
        require(self._is_operation_ready(id), NOT_READY)
        self.get_timestamp[id] = _DONE_TIMESTAMP

    def _only_role_or_open_role(self, role: bytes, *, sender: str) -> None:
        if not self.hasRole[(role, ZERO_ADDRESS)]:
            self._check_role(role, sender)
