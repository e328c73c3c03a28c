"""In-process backend: revm (the Rust EVM inside anvil and foundry) through
pyrevm, driven with raw calldata.

No node, no RPC, no signing and no ape transaction pipeline: this is the
harness's hot path, tens of thousands of transactions a second.
"""
import re

import pyrevm
from eth_utils import to_checksum_address

from .addresses import dev_accounts

from .chain import Chain, ChainError, TxResult
from .codec import revert_reason

_REVERT = re.compile(r"Revert \{ gas_used: (\d+), output: 0x([0-9a-fA-F]*) \}")


class RevmChain(Chain):
    name = "revm"

    def __init__(self, n_accounts: int = 16, timestamp: int = 1_700_000_000):
        super().__init__()
        self.evm = pyrevm.EVM()
        self.accounts = dev_accounts(n_accounts)
        for a in self.accounts:
            self.evm.set_balance(a, 10**24)
        self._block = 1
        self._timestamp = timestamp
        self._apply_block()

    def _apply_block(self):
        self.evm.set_block_env(pyrevm.BlockEnv(number=self._block, timestamp=self._timestamp))

    def _run(self, fn, *args, **kwargs):
        """Run one transaction; a revert comes back as (False, data, gas)."""
        try:
            out = fn(*args, **kwargs)
        except RuntimeError as err:
            m = _REVERT.search(str(err))
            if m is None:
                raise ChainError(str(err)) from err
            return False, bytes.fromhex(m.group(2)), int(m.group(1))
        return True, out, self.evm.result.gas_used

    def _deploy_initcode(self, initcode: bytes, sender: str) -> str:
        ok, out, _ = self._run(self.evm.deploy, sender, initcode, gas=30_000_000)
        if not ok:
            raise ChainError(f"deployment failed: {revert_reason(out)}")
        self._block += 1
        return to_checksum_address(out)

    def transact(self, address, contract, fn, args, sender):
        f = self.codec(contract)[fn]
        ok, out, gas = self._run(self.evm.message_call, sender, address, f.encode(args), gas=30_000_000)
        if not ok:
            return TxResult(False, revert_reason(out), None, gas)
        self._block += 1
        return TxResult(True, None, f.decode(bytes(out)), gas)

    def call(self, address, contract, fn, args=()):
        f = self.codec(contract)[fn]
        ok, out, _ = self._run(self.evm.message_call, self.accounts[0], address, f.encode(args), is_static=True)
        if not ok:
            raise ChainError(f"{contract}.{fn} reverted: {revert_reason(out)}")
        return f.decode(bytes(out))

    def set_next_timestamp(self, timestamp):
        self._timestamp = timestamp
        self._apply_block()

    def latest_timestamp(self):
        return self._timestamp

    def call_timestamp(self):
        return self._timestamp

    def snapshot(self):
        return (self.evm.snapshot(), self._block, self._timestamp)

    def restore(self, snapshot_id):
        checkpoint, self._block, self._timestamp = snapshot_id
        self.evm.revert(checkpoint)
        self._apply_block()

    def code_at(self, address):
        return bytes(self.evm.get_code(address) or b"")

    def storage_at(self, address: str, slot: int) -> int:
        return self.evm.storage(address, slot)
