"""ABI encoding of calls and decoding of results and revert reasons.

The harness encodes and decodes tens of thousands of calls a second, and
eth_abi's validating codec was most of its time. Decoding here is compiled
once per ABI type into plain slicing of 32-byte words; encoding of static
arguments is word concatenation. eth_abi remains the encoder for anything
else and for constructor arguments.
"""
from functools import lru_cache

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

ERROR_SELECTOR = keccak(text="Error(string)")[:4]
_ZERO_WORD = bytes(32)


@lru_cache(maxsize=65536)
def _address(word: bytes) -> str:
    return to_checksum_address(word[12:])


def _split_tuple(t: str):
    parts, depth, cur = [], 0, ""
    for ch in t[1:-1]:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    if cur:
        parts.append(cur)
    return parts


class _Type:
    """A compiled ABI type: `dynamic`, head size, and decode(data, offset)."""

    def __init__(self, t: str):
        self.t = t
        if t.endswith("[]"):
            self.kind, self.elem, self.dynamic = "array", _compile(t[:-2]), True
        elif t.startswith("("):
            self.kind, self.fields = "tuple", [_compile(p) for p in _split_tuple(t)]
            self.dynamic = any(f.dynamic for f in self.fields)
        elif t in ("string", "bytes"):
            self.kind, self.dynamic = t, True
        elif t.endswith("]"):
            raise NotImplementedError(f"fixed-size arrays are not used here: {t}")
        else:
            self.kind, self.dynamic = t, False
        self.size = 32 if self.dynamic else (sum(f.size for f in self.fields) if self.kind == "tuple" else 32)

    def decode(self, data: bytes, pos: int):
        kind = self.kind
        if kind == "address":
            return _address(data[pos:pos + 32])
        if kind == "bool":
            return data[pos + 31] == 1
        if kind.startswith("uint"):
            return int.from_bytes(data[pos:pos + 32], "big")
        if kind.startswith("int"):
            return int.from_bytes(data[pos:pos + 32], "big", signed=True)
        if kind == "tuple":
            return self._decode_fields(data, pos)
        if kind.startswith("bytes") and kind != "bytes":
            # bytesN: left-aligned in its word (the timelock's ids and roles).
            return bytes(data[pos:pos + int(kind[5:])])
        start = int.from_bytes(data[pos:pos + 32], "big") if self.dynamic else pos
        return self.decode_at(data, start)

    def decode_at(self, data: bytes, start: int):
        """Decode the tail of a dynamic value that begins at `start`."""
        if self.kind == "tuple":
            return self._decode_fields(data, start)
        length = int.from_bytes(data[start:start + 32], "big")
        if self.kind == "array":
            base = start + 32
            e = self.elem
            if e.dynamic:
                return tuple(e.decode_at(data, base + int.from_bytes(data[base + 32 * i:base + 32 * i + 32], "big"))
                             for i in range(length))
            return tuple(e.decode(data, base + e.size * i) for i in range(length))
        raw = data[start + 32:start + 32 + length]
        return raw.decode() if self.kind == "string" else raw

    def _decode_fields(self, data: bytes, base: int):
        out, pos = [], base
        for f in self.fields:
            if f.dynamic:
                out.append(f.decode_at(data, base + int.from_bytes(data[pos:pos + 32], "big")))
            else:
                out.append(f.decode(data, pos))
            pos += f.size
        return tuple(out)


@lru_cache(maxsize=None)
def _compile(t: str) -> _Type:
    return _Type(t)


def _static_word(t: str, v) -> bytes:
    if t == "address":
        return bytes(12) + bytes.fromhex(v[2:])
    if t == "bool":
        return (1 if v else 0).to_bytes(32, "big")
    if t.startswith("uint"):
        return v.to_bytes(32, "big")
    if t.startswith("bytes"):
        return bytes(v).ljust(32, b"\0")
    return v.to_bytes(32, "big", signed=True)


def _freeze(value):
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def abi_type(param: dict) -> str:
    """An ABI parameter's canonical type string (tuples spelled out)."""
    t = param["type"]
    if t.startswith("tuple"):
        return "(" + ",".join(abi_type(c) for c in param["components"]) + ")" + t[5:]
    return t


class Function:
    __slots__ = ("name", "selector", "inputs", "outputs", "single", "_out", "_simple", "_memo")

    def __init__(self, item: dict):
        self.name = item["name"]
        self.inputs = [abi_type(p) for p in item["inputs"]]
        self.outputs = [abi_type(p) for p in item["outputs"]]
        self.selector = keccak(text=f"{self.name}({','.join(self.inputs)})")[:4]
        self.single = len(self.outputs) == 1
        self._out = _compile("(" + ",".join(self.outputs) + ")")
        self._simple = all(not t.startswith("(") and "[" not in t and t not in ("string", "bytes")
                           for t in self.inputs)
        self._memo = {}

    def encode(self, args) -> bytes:
        if self._simple:
            return self.selector + b"".join(_static_word(t, v) for t, v in zip(self.inputs, args))
        # Complex arguments here are the same few holder lists read after
        # every step: encode each once.
        key = _freeze(args)
        data = self._memo.get(key)
        if data is None:
            if len(self._memo) > 256:
                self._memo.clear()
            data = self._memo[key] = self.selector + encode(self.inputs, list(args))
        return data

    def decode(self, data: bytes):
        if not self.outputs:
            return None
        values = self._out.decode_at(data, 0)
        return values[0] if self.single else values


class Overloads:
    """The functions of one name (a Vyper function with defaulted
    arguments has one ABI entry per arity): encode picks by the number of
    arguments; every entry returns the same outputs."""
    __slots__ = ("name", "by_arity", "outputs", "single")

    def __init__(self, functions: list):
        self.by_arity = {len(f.inputs): f for f in functions}
        first = functions[0]
        self.name, self.outputs, self.single = first.name, first.outputs, first.single
        assert all(f.outputs == first.outputs for f in functions), f"{first.name}: overloads return differently"

    def encode(self, args) -> bytes:
        f = self.by_arity.get(len(args))
        if f is None:
            raise TypeError(f"{self.name} takes {' or '.join(map(str, sorted(self.by_arity)))} arguments, "
                            f"got {len(args)}")
        return f.encode(args)

    def decode(self, data: bytes):
        return next(iter(self.by_arity.values())).decode(data)


class Codec:
    def __init__(self, abi: list):
        named = {}
        for i in abi:
            if i.get("type") == "function":
                named.setdefault(i["name"], []).append(Function(i))
        # `functions` keeps every selector (by name, one per arity, e.g. for
        # call decoders); `[name]` encodes by the arguments given.
        self.functions = {f"{n}/{len(f.inputs)}" if len(fs) > 1 else n: f for n, fs in named.items() for f in fs}
        self._callables = {n: fs[0] if len(fs) == 1 else Overloads(fs) for n, fs in named.items()}
        ctor = [i for i in abi if i.get("type") == "constructor"]
        self.constructor_inputs = [abi_type(p) for p in ctor[0]["inputs"]] if ctor else []

    def __getitem__(self, name: str):
        return self._callables[name]

    def encode_constructor(self, args) -> bytes:
        return encode(self.constructor_inputs, list(args)) if self.constructor_inputs else b""


def revert_reason(data: bytes):
    """The string of a Vyper `assert ..., reason`; None for a bare revert."""
    if data and data[:4] == ERROR_SELECTOR:
        return _compile("(string)").decode_at(data[4:], 0)[0] if len(data) >= 68 else None
    return None
