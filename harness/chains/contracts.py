"""A project contract by name: its codec (one per contract, shared by every
client), its creation code, and where its storage variables live."""
from functools import lru_cache

from eth_utils import keccak

from .artifacts import artifact
from .codec import Codec


@lru_cache(maxsize=None)
def codec(name: str) -> Codec:
    """The ABI codec of a contract (one per contract, shared by every client)."""
    return Codec(artifact(name)["abi"])


def initcode(name: str, args=()) -> bytes:
    """Creation code of `name` with its constructor arguments."""
    return bytes.fromhex(artifact(name)["bytecode"][2:]) + codec(name).encode_constructor(args)


def blueprint_initcode(name: str) -> bytes:
    """Creation code of an EIP-5202 blueprint of `name`."""
    return bytes.fromhex(artifact(name)["blueprint_bytecode"][2:])


def hashmap_slot(slot: int, key: int) -> int:
    """The storage slot of `HashMap[key]` whose variable is at `slot`: keccak256(slot ++ key)."""
    return int.from_bytes(keccak(slot.to_bytes(32, "big") + key.to_bytes(32, "big")), "big")


def call_decoder(names: dict):
    """decode(target, calldata) -> (function name, args) or None, for model
    twins that execute calldata (model/timelock.py): `names` maps each
    target address to its contract's name. A struct argument that is a
    MarketParams comes back as one, as the model engine takes it."""
    from eth_abi import decode as abi_decode
    from eth_utils import to_checksum_address

    from model import MarketParams

    from .codec import abi_type

    fields = list(MarketParams.__dataclass_fields__)
    tables = {}
    for name in set(names.values()):
        table = {}
        for item in artifact(name)["abi"]:
            if item.get("type") == "function":
                types = [abi_type(p) for p in item["inputs"]]
                selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
                structs = [[c["name"] for c in p.get("components", [])] == fields for p in item["inputs"]]
                table[selector] = (item["name"], types, structs)
        tables[name] = table
    by_address = {to_checksum_address(a) if a.startswith("0x") and len(a) == 42 else a: n for a, n in names.items()}

    def decode(target: str, data: bytes):
        name = by_address.get(target)
        found = tables[name].get(bytes(data[:4])) if name else None
        if found is None:
            return None
        fn, types, structs = found
        values = abi_decode(types, bytes(data[4:]))
        args = []
        for t, is_params, v in zip(types, structs, values):
            if is_params:
                v = MarketParams(*v)
            elif t == "address":
                v = to_checksum_address(v)
            args.append(v)
        return fn, tuple(args)

    return decode
