"""Plain JSON-RPC to a node, whoever holds the connection: the one client.

The deploy and audit scripts run inside ape and send requests through ape's
provider; RpcChain, tests and other tools talk to a URL directly, where
requests can also go in batches (one HTTP round trip for many eth_calls).
Both go through this one class, so no tool depends on which client is
used, and every state read can be pinned to one block.
"""
import itertools
from typing import Any, Callable, Iterable, List, Optional, Sequence, Union

from .contracts import codec
from .chain import ChainError

Block = Union[int, str]


class RpcError(ChainError):
    """The node answered with an error (or not at all). `error` is the
    JSON-RPC error object when there is one."""

    def __init__(self, error: Union[str, dict]):
        if isinstance(error, dict):
            super().__init__(error.get("message", str(error)))
            self.error = error
        else:
            super().__init__(error)
            self.error = {}

    @property
    def revert_data(self) -> Optional[bytes]:
        data = self.error.get("data")
        if isinstance(data, dict):
            data = data.get("data")
        if isinstance(data, str) and data.startswith("0x"):
            return bytes.fromhex(data[2:])
        return None


def _block(block: Block) -> str:
    return block if isinstance(block, str) else hex(block)


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
    def __init__(self, request: Callable[[str, list], Any], label: str = "rpc",
                 batch: Optional[Callable[[list], list]] = None):
        """`request(method, params)` returns the result or raises RpcError;
        `batch([(method, params), ...])`, where the transport has batches,
        returns each call's result or RpcError, in order."""
        self._request = request
        self._batch = batch
        self.label = label

    # ---------------------------------------------------------------- constructors

    @classmethod
    def http(cls, url: str, timeout: float = 60) -> "Rpc":
        import requests

        session, ids = requests.Session(), itertools.count(1)

        def post(payload):
            try:
                resp = session.post(url, json=payload, timeout=timeout)
                resp.raise_for_status()
                return resp.json()
            except (requests.RequestException, ValueError) as err:  # refused, timeouts, HTTP errors
                what = payload["method"] if isinstance(payload, dict) else f"batch of {len(payload)}"
                raise RpcError(f"{what}: {err}") from err

        def request(method, params):
            reply = post({"jsonrpc": "2.0", "id": next(ids), "method": method, "params": params})
            if "error" in reply:
                raise RpcError(reply["error"])
            return reply.get("result")

        def batch(calls):
            payload = [{"jsonrpc": "2.0", "id": next(ids), "method": m, "params": p} for m, p in calls]
            replies = {r["id"]: r for r in post(payload)}
            return [RpcError(replies[p["id"]]["error"]) if "error" in replies[p["id"]]
                    else replies[p["id"]]["result"] for p in payload]

        return cls(request, label=url, batch=batch)

    @classmethod
    def ape(cls, provider) -> "Rpc":
        def request(method, params):
            try:
                return provider.make_request(method, params)
            except Exception as err:  # ape raises its own error types per provider
                raise RpcError(f"{method}: {err}") from err

        return cls(request, label=getattr(provider, "network_choice", "ape"))

    # ---------------------------------------------------------------- raw

    def request(self, method: str, params: Optional[Sequence] = None) -> Any:
        return self._request(method, list(params or []))

    def batch(self, calls: Sequence[tuple]) -> list:
        """[(method, params), ...] -> each result, or the RpcError of a call
        that failed; one round trip where the transport allows."""
        if not calls:           # an empty JSON-RPC batch is an error reply, not an empty list
            return []
        if self._batch is not None:
            return self._batch([(m, list(p)) for m, p in calls])
        out = []
        for method, params in calls:
            try:
                out.append(self.request(method, params))
            except RpcError as err:
                out.append(err)
        return out

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

    def fee_per_gas(self) -> int:
        """What a transaction sent now pays per gas, at least: the legacy gas
        price, or the latest base fee plus the tip the node suggests (what
        ape's EIP-1559 transactions pay), whichever is higher. A node that
        knows no tip (eth_maxPriorityFeePerGas) counts none."""
        try:
            tip = _int(self.request("eth_maxPriorityFeePerGas"))
        except RpcError:
            tip = 0
        base = _int(self.block("latest").get("baseFeePerGas") or "0x0")
        return max(self.gas_price(), base + tip)

    def nonce(self, address: str, block: Block = "latest") -> int:
        return _int(self.request("eth_getTransactionCount", [address, _block(block)]))

    def balance(self, address: str, block: Block = "latest") -> int:
        return _int(self.request("eth_getBalance", [address, _block(block)]))

    def code(self, address: str, block: Block = "latest") -> bytes:
        return _bytes(self.request("eth_getCode", [address, _block(block)]))

    def storage(self, address: str, slot: int, block: Block = "latest") -> int:
        return _int(self.request("eth_getStorageAt", [address, hex(slot), _block(block)]))

    def receipt(self, tx_hash: str) -> Optional[dict]:
        return self.request("eth_getTransactionReceipt", [tx_hash])

    def transaction(self, tx_hash: str) -> Optional[dict]:
        return self.request("eth_getTransactionByHash", [tx_hash])

    def logs(self, address: Union[str, Sequence[str], None], from_block: int, to_block: int,
             topics: Optional[list] = None) -> list:
        flt = {"fromBlock": hex(from_block), "toBlock": hex(to_block)}
        if address is not None:
            flt["address"] = address if isinstance(address, str) else list(address)
        if topics is not None:
            flt["topics"] = topics
        return self.request("eth_getLogs", [flt]) or []

    def call_raw(self, to: str, data: bytes, block: Block = "latest", sender: Optional[str] = None) -> bytes:
        return _bytes(self.request("eth_call", [_call_tx(to, data, sender), _block(block)]))

    # ---------------------------------------------------------------- contracts

    def call(self, address: str, contract: str, fn: str, args: Iterable = (), block: Block = "latest"):
        """Call a view of one of the project's contracts and decode its result."""
        return self.call_many([(address, contract, fn, args)], block)[0]

    def call_many(self, calls: Sequence[tuple], block: Block = "latest") -> List[Any]:
        """[(address, contract, fn, args), ...] -> decoded results, in one batch."""
        prepared = [eth_call(*c, block=block) for c in calls]
        return decode_calls(prepared, self.batch([p for _, p in prepared]), calls)


def _call_tx(to: str, data: bytes, sender: Optional[str] = None) -> dict:
    tx = {"to": to, "data": "0x" + data.hex()}
    if sender:
        tx["from"] = sender
    return tx


def eth_call(address, contract, fn, args=(), block: Block = "latest"):
    """(the codec function, the ("eth_call", params) request) of a view call."""
    f = codec(contract)[fn]
    return f, ("eth_call", [_call_tx(address, f.encode(list(args))), _block(block)])


def decode_calls(prepared, results, calls) -> list:
    """Decode eth_call results; the first failed or empty one raises RpcError."""
    out = []
    for (f, _), r, (address, contract, fn, *_) in zip(prepared, results, calls):
        if isinstance(r, RpcError):
            raise RpcError(f"{contract}.{fn} at {address}: {r}") from r
        data = _bytes(r)
        if not data and f.outputs:
            raise RpcError(f"{contract}.{fn} at {address} returned nothing (no contract there?)")
        out.append(f.decode(data))
    return out
