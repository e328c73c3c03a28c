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
