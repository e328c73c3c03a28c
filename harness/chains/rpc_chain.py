"""Raw JSON-RPC backend for a dev node with unlocked accounts (anvil).

No signing and no ape pipeline: eth_sendTransaction from the node's own
dev accounts, with the next block's timestamp pinned in the same batched
HTTP request, and many eth_calls batched into one round trip. This is the
hot path on a real node; ApeChain remains the path through ape itself.
"""
import itertools

import requests

from .chain import Chain, ChainError, TxResult
from .codec import revert_reason


TX_GAS = 15_000_000


class RpcError(ChainError):
    def __init__(self, error: dict):
        super().__init__(error.get("message", str(error)))
        self.error = error

    @property
    def revert_data(self):
        data = self.error.get("data")
        if isinstance(data, dict):
            data = data.get("data")
        if isinstance(data, str) and data.startswith("0x"):
            return bytes.fromhex(data[2:])
        return None


class RpcChain(Chain):
    name = "rpc"
    batches_reads = True

    def __init__(self, uri: str, accounts=None, timeout: float = 30.0):
        super().__init__()
        self.uri = uri
        self.timeout = timeout
        self.session = requests.Session()
        self._ids = itertools.count(1)
        accounts = list(accounts) if accounts is not None else self.request("eth_accounts")
        self.accounts = [self.codec_address(a) for a in accounts]
        self.name = f"rpc:{uri}"
        self._next_timestamp = None

    # ---- JSON-RPC
    def batch(self, calls):
        """Send [(method, params), ...] in one HTTP request; results in order.
        Each item is a result, or an RpcError for a call that failed."""
        payload = [{"jsonrpc": "2.0", "id": next(self._ids), "method": m, "params": p} for m, p in calls]
        try:
            resp = self.session.post(self.uri, json=payload, timeout=self.timeout)
            resp.raise_for_status()
            replies = {r["id"]: r for r in resp.json()}
        except (requests.RequestException, ValueError) as err:
            raise ChainError(f"RPC to {self.uri} failed: {err}") from err
        return [RpcError(replies[p["id"]]["error"]) if "error" in replies[p["id"]] else replies[p["id"]]["result"]
                for p in payload]

    def request(self, method, params=()):
        (result,) = self.batch([(method, list(params))])
        if isinstance(result, RpcError):
            raise result
        return result

    # ---- Chain
    def _pin_timestamp(self):
        # Its own request: anvil answers a batch's calls concurrently, so a
        # batch cannot order a timestamp pin before a transaction.
        if self._next_timestamp is not None:
            self.request("evm_setNextBlockTimestamp", [hex(self._next_timestamp)])

    def _send(self, tx: dict):
        """Mine one transaction and return its receipt (anvil >= 1.4 has
        eth_sendTransactionSync: no polling for the receipt)."""
        self._pin_timestamp()
        receipt = self.request("eth_sendTransactionSync", [tx])
        self._next_timestamp = None
        return receipt

    def _deploy_initcode(self, initcode: bytes, sender: str) -> str:
        receipt = self._send({"from": sender, "data": "0x" + initcode.hex()})
        if int(receipt["status"], 16) != 1:
            raise ChainError("deployment reverted")
        return self.codec_address(receipt["contractAddress"])

    @staticmethod
    def codec_address(address: str) -> str:
        from eth_utils import to_checksum_address
        return to_checksum_address(address)

    def transact(self, address, contract, fn, args, sender):
        return self.transact_then_call(address, contract, fn, args, sender, [])[0]

    def transact_then_call(self, address, contract, fn, args, sender, calls):
        """Mine the transaction, then in one more round trip replay it for
        its revert reason and read the state it left."""
        f = self.codec(contract)[fn]
        # A fixed gas limit: the node's estimate can fall short of execution
        # (refunds, the SSTORE stipend check) and turn a success into a revert.
        tx = {"from": sender, "to": address, "data": "0x" + f.encode(args).hex(), "gas": hex(TX_GAS)}
        receipt = self._send(tx)
        gas = int(receipt["gasUsed"], 16)
        ok = int(receipt["status"], 16) == 1
        prepared = [self._call_params(*c) for c in calls]
        # Anvil mines failing transactions; replaying the call on top of the
        # block it failed in sees the same state and timestamp: the reason.
        batch = ([] if ok else [("eth_call", [tx, "latest"])]) + [p for _, p in prepared]
        results = self.batch(batch) if batch else []
        if ok:
            result = TxResult(True, None, None, gas)
        else:
            replay, results = results[0], results[1:]
            data = replay.revert_data if isinstance(replay, RpcError) else None
            result = TxResult(False, revert_reason(data) if data else None, None, gas)
        return result, self._decode_reads(prepared, results, calls)

    def _decode_reads(self, prepared, results, calls):
        out = []
        for (f, _), r, c in zip(prepared, results, calls):
            if isinstance(r, RpcError):
                raise ChainError(f"{c[1]}.{c[2]} failed: {r}")
            out.append(f.decode(bytes.fromhex(r[2:])))
        return out

    def _call_params(self, address, contract, fn, args):
        f = self.codec(contract)[fn]
        return f, ("eth_call", [{"to": address, "data": "0x" + f.encode(args).hex()}, "latest"])

    def call(self, address, contract, fn, args=()):
        return self.call_many([(address, contract, fn, args)])[0]

    def call_many(self, calls):
        prepared = [self._call_params(*c) for c in calls]
        return self._decode_reads(prepared, self.batch([p for _, p in prepared]), calls)

    def set_next_timestamp(self, timestamp):
        self._next_timestamp = timestamp

    def latest_timestamp(self):
        block = self.request("eth_getBlockByNumber", ["latest", False])
        return int(block["timestamp"], 16)

    def snapshot(self):
        return (self.request("evm_snapshot"), self._next_timestamp)

    def restore(self, snapshot_id):
        snap, self._next_timestamp = snapshot_id
        if not self.request("evm_revert", [snap]):
            raise ChainError(f"evm_revert({snap}) failed: snapshot unknown or spent")

    def code_at(self, address):
        return bytes.fromhex(self.request("eth_getCode", [address, "latest"])[2:])
