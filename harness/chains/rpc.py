"""Plain JSON-RPC to a node, whoever holds the connection.

The deploy and audit scripts run inside ape and send requests through ape's
provider; tests and other tools talk to a URL directly. Both go through
this one small class, so the audit never depends on which client is used,
and every state read can be pinned to one block.
"""
from typing import Any, Callable, Iterable, Optional, Sequence, Union

from .codec import Codec
from .artifacts import artifact

Block = Union[int, str]


class RpcError(Exception):
    """The node answered with an error (or not at all)."""


def _hex(n: int) -> str:
    return hex(n)


def _block(block: Block) -> str:
    return block if isinstance(block, str) else _hex(block)


def _bytes(value) -> bytes:
    if value is None:
        return b""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    s = str(value)
    return bytes.fromhex(s[2:] if s.startswith("0x") else s)


def _int(value) -> int:
    if isinstance(value, int):
        return value
    return int(value, 16)


class Rpc:
    def __init__(self, request: Callable[[str, list], Any], label: str = "rpc"):
        self._request = request
        self.label = label
        self._codecs = {}

    # ---------------------------------------------------------------- constructors

    @classmethod
    def http(cls, url: str, timeout: int = 60) -> "Rpc":
        from web3 import HTTPProvider

        provider = HTTPProvider(url, request_kwargs={"timeout": timeout})

        def request(method, params):
            try:
                reply = provider.make_request(method, params)
            except Exception as err:  # connection refused, timeouts, HTTP errors
                raise RpcError(f"{method}: {err}") from err
            if "error" in reply:
                err = reply["error"]
                raise RpcError(err.get("message", str(err)) if isinstance(err, dict) else str(err))
            return reply.get("result")

        return cls(request, label=url)

    @classmethod
    def ape(cls, provider) -> "Rpc":
        def request(method, params):
            try:
                return provider.make_request(method, params)
            except Exception as err:  # ape raises its own error types per provider
                raise RpcError(f"{method}: {err}") from err

        return cls(request, label=getattr(provider, "network_choice", "ape"))

    # ---------------------------------------------------------------- raw

    def request(self, method: str, params: Optional[list] = None) -> Any:
        return self._request(method, list(params or []))

    # ---------------------------------------------------------------- chain

    def chain_id(self) -> int:
        return _int(self.request("eth_chainId"))

    def block_number(self) -> int:
        return _int(self.request("eth_blockNumber"))

    def block(self, block: Block) -> dict:
        b = self.request("eth_getBlockByNumber", [_block(block), False])
        if b is None:
            raise RpcError(f"block {block} not found")
        return b

    def block_hash(self, block: Block) -> str:
        return self.block(block)["hash"]

    def timestamp(self, block: Block) -> int:
        return _int(self.block(block)["timestamp"])

    def gas_price(self) -> int:
        return _int(self.request("eth_gasPrice"))

    def nonce(self, address: str, block: Block = "latest") -> int:
        return _int(self.request("eth_getTransactionCount", [address, _block(block)]))

    def balance(self, address: str, block: Block = "latest") -> int:
        return _int(self.request("eth_getBalance", [address, _block(block)]))

    def code(self, address: str, block: Block = "latest") -> bytes:
        return _bytes(self.request("eth_getCode", [address, _block(block)]))

    def storage(self, address: str, slot: int, block: Block = "latest") -> int:
        return _int(self.request("eth_getStorageAt", [address, _hex(slot), _block(block)]))

    def receipt(self, tx_hash: str) -> Optional[dict]:
        return self.request("eth_getTransactionReceipt", [tx_hash])

    def transaction(self, tx_hash: str) -> Optional[dict]:
        return self.request("eth_getTransactionByHash", [tx_hash])

    def logs(self, address: Union[str, Sequence[str], None], from_block: int, to_block: int,
             topics: Optional[list] = None) -> list:
        flt = {"fromBlock": _hex(from_block), "toBlock": _hex(to_block)}
        if address is not None:
            flt["address"] = address if isinstance(address, str) else list(address)
        if topics is not None:
            flt["topics"] = topics
        return self.request("eth_getLogs", [flt]) or []

    def call_raw(self, to: str, data: bytes, block: Block = "latest", sender: Optional[str] = None) -> bytes:
        tx = {"to": to, "data": "0x" + data.hex()}
        if sender:
            tx["from"] = sender
        return _bytes(self.request("eth_call", [tx, _block(block)]))

    # ---------------------------------------------------------------- contracts

    def codec(self, contract: str) -> Codec:
        c = self._codecs.get(contract)
        if c is None:
            c = self._codecs[contract] = Codec(artifact(contract)["abi"])
        return c

    def call(self, address: str, contract: str, fn: str, args: Iterable = (), block: Block = "latest"):
        """Call a view of one of the project's contracts and decode its result."""
        f = self.codec(contract)[fn]
        try:
            out = self.call_raw(address, f.encode(list(args)), block)
        except RpcError as err:
            raise RpcError(f"{contract}.{fn} at {address}: {err}") from err
        if not out and f.outputs:
            raise RpcError(f"{contract}.{fn} at {address} returned nothing (no contract there?)")
        return f.decode(out)
