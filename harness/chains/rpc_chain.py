"""Raw JSON-RPC backend for a dev node with unlocked accounts (anvil).

No signing and no ape pipeline: eth_sendTransaction from the node's own
dev accounts, with the next block's timestamp pinned just before, and many
eth_calls batched into one round trip (through the one JSON-RPC client,
chains/rpc.py). This is the hot path on a real node; ApeChain remains the
path through ape itself.
"""
from eth_utils import to_checksum_address

from .chain import TIMESTAMP_PROBE, Chain, ChainError, TxResult
from .codec import revert_reason
from .rpc import Rpc, RpcError, decode_calls, eth_call

TX_GAS = 15_000_000


class RpcChain(Chain):
    name = "rpc"
    batches_reads = True

    def __init__(self, uri: str, accounts=None, timeout: float = 30.0):
        super().__init__()
        self.uri = uri
        self.rpc = Rpc.http(uri, timeout)
        accounts = list(accounts) if accounts is not None else self.request("eth_accounts")
        self.accounts = [to_checksum_address(a) for a in accounts]
        self.name = f"rpc:{uri}"
        self._next_timestamp = None

    def request(self, method, params=()):
        return self.rpc.request(method, params)

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
        return to_checksum_address(receipt["contractAddress"])

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
        prepared = [eth_call(*c) for c in calls]
        # Anvil mines failing transactions; replaying the call on top of the
        # block it failed in sees the same state and timestamp: the reason.
        batch = ([] if ok else [("eth_call", [tx, "latest"])]) + [p for _, p in prepared]
        results = self.rpc.batch(batch) if batch else []
        if ok:
            result = TxResult(True, None, None, gas)
        else:
            replay, results = results[0], results[1:]
            data = replay.revert_data if isinstance(replay, RpcError) else None
            result = TxResult(False, revert_reason(data) if data else None, None, gas)
        return result, decode_calls(prepared, results, calls)

    def call(self, address, contract, fn, args=()):
        return self.rpc.call(address, contract, fn, args)

    def call_many(self, calls):
        return self.rpc.call_many(calls)

    def set_next_timestamp(self, timestamp):
        self._next_timestamp = timestamp

    def latest_timestamp(self):
        return self.rpc.timestamp("latest")

    def call_timestamp(self):
        return int(self.request("eth_call", [{"from": self.accounts[0], "data": TIMESTAMP_PROBE}, "latest"]), 16)

    def snapshot(self):
        return (self.request("evm_snapshot"), self._next_timestamp)

    def restore(self, snapshot_id):
        snap, self._next_timestamp = snapshot_id
        if not self.request("evm_revert", [snap]):
            raise ChainError(f"evm_revert({snap}) failed: snapshot unknown or spent")

    def code_at(self, address):
        return self.rpc.code(address)
