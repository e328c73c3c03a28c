"""ABI encoding of calls and decoding of results and revert reasons."""
from functools import lru_cache

from eth_abi import decode, encode
from eth_utils import keccak, to_checksum_address

ERROR_SELECTOR = keccak(text="Error(string)")[:4]


@lru_cache(maxsize=65536)
def _checksum(address: str) -> str:
    return to_checksum_address(address)


def _normalize(value):
    # eth_abi decodes addresses in lower case; everything else here uses
    # checksummed strings (ape, the model's keys).
    if isinstance(value, str) and len(value) == 42 and value.startswith("0x"):
        return _checksum(value)
    if isinstance(value, (tuple, list)):
        return tuple(_normalize(v) for v in value)
    return value


def _type(param: dict) -> str:
    t = param["type"]
    if t.startswith("tuple"):
        return "(" + ",".join(_type(c) for c in param["components"]) + ")" + t[5:]
    return t


class Function:
    __slots__ = ("name", "selector", "inputs", "outputs", "single")

    def __init__(self, item: dict):
        self.name = item["name"]
        self.inputs = [_type(p) for p in item["inputs"]]
        self.outputs = [_type(p) for p in item["outputs"]]
        self.selector = keccak(text=f"{self.name}({','.join(self.inputs)})")[:4]
        self.single = len(self.outputs) == 1

    def encode(self, args) -> bytes:
        return self.selector + encode(self.inputs, list(args))

    def decode(self, data: bytes):
        if not self.outputs:
            return None
        values = _normalize(decode(self.outputs, data))
        return values[0] if self.single else values


class Codec:
    def __init__(self, abi: list):
        self.functions = {i["name"]: Function(i) for i in abi if i.get("type") == "function"}
        ctor = [i for i in abi if i.get("type") == "constructor"]
        self.constructor_inputs = [_type(p) for p in ctor[0]["inputs"]] if ctor else []

    def __getitem__(self, name: str) -> Function:
        return self.functions[name]

    def encode_constructor(self, args) -> bytes:
        return encode(self.constructor_inputs, list(args)) if self.constructor_inputs else b""


def revert_reason(data: bytes):
    """The string of a Vyper `assert ..., reason`; None for a bare revert."""
    if data and data[:4] == ERROR_SELECTOR:
        return decode(["string"], data[4:])[0]
    return None
