"""What a deploy sends, and where it goes: planned transactions, what came
back, and the two senders - a simulation on a fork of the chain's head
(revm, nothing leaves this machine) and the real network through an ape
account - plus a read-only view of the chain for the plan.
"""
import re
from dataclasses import dataclass, field
from typing import Callable, Optional

from eth_utils import to_checksum_address

from model import MarketParams

from ..chains.addresses import create_address
from ..chains.contracts import codec
from ..chains.codec import revert_reason
from ..chains.rpc import Rpc
from .netconfig import params_dict

class DeployError(Exception):
    pass


@dataclass
class PlannedTx:
    key: str                      # manifest key this transaction produces
    kind: str                     # "create", "blueprint" or "call"
    contract: str                 # artifact name (created, or called)
    description: str
    data: bytes
    to: Optional[str] = None      # calls only
    fn: Optional[str] = None
    args: list = field(default_factory=list)

    def as_pending(self) -> dict:
        return {"step": self.key, "kind": self.kind, "contract": self.contract, "fn": self.fn,
                "to": self.to, "args": _jsonable(self.args), "description": self.description}


@dataclass
class Sent:
    tx: Optional[str]
    block: Optional[int]
    gas_used: int
    address: Optional[str]        # the created contract
    nonce: int


def _jsonable(value):
    if isinstance(value, MarketParams):
        return params_dict(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _redact(url: str) -> str:
    # RPC URLs often carry an API key in their path or query.
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "") if parts.scheme else "?"


# ---------------------------------------------------------------- senders

class Sender:
    """Where planned transactions go: the simulator or the real network."""

    deployer: str

    def send(self, ptx: PlannedTx, before_broadcast: Callable[[dict], None]) -> Sent:
        raise NotImplementedError

    def call(self, address: str, contract: str, fn: str, args=()):
        raise NotImplementedError

    def nonce(self) -> int:
        raise NotImplementedError


class SimulatedSender(Sender):
    """An in-process EVM (revm) forked from the target chain at its head:
    the reverts a node would give, and nothing leaves this machine. Its gas
    is an estimate: revm keeps storage warm across the plan's transactions
    where a node charges each transaction's first touch cold."""

    def __init__(self, rpc: Rpc, fork_url: str, deployer: str):
        import pyrevm

        head = rpc.block("latest")
        env = pyrevm.Env(cfg=pyrevm.CfgEnv(chain_id=rpc.chain_id()),
                         block=pyrevm.BlockEnv(number=int(head["number"], 16) + 1,
                                               timestamp=int(head["timestamp"], 16) + 12, basefee=0))
        try:
            self.evm = pyrevm.EVM(env=env, fork_url=fork_url, spec_id="PRAGUE")
        except Exception as err:
            raise DeployError(f"cannot fork {_redact(fork_url)} for the simulation: {err}") from err
        self.deployer = deployer
        self._pyrevm = pyrevm

    def _bump_nonce(self):
        # revm's message_call leaves the caller's nonce alone; a real call does not.
        info = self.evm.basic(self.deployer)
        self.evm.insert_account_info(self.deployer, self._pyrevm.AccountInfo(
            nonce=info.nonce + 1, code_hash=info.code_hash, code=info.code))
        self.evm.set_balance(self.deployer, info.balance)

    def send(self, ptx, before_broadcast):
        nonce = self.nonce()
        try:
            if ptx.kind == "call":
                self.evm.message_call(self.deployer, ptx.to, ptx.data, gas=30_000_000)
                self._bump_nonce()
                address = None
            else:
                address = to_checksum_address(self.evm.deploy(self.deployer, ptx.data, gas=30_000_000))
        except RuntimeError as err:
            m = re.search(r"output: 0x([0-9a-fA-F]*)", str(err))
            reason = revert_reason(bytes.fromhex(m.group(1))) if m else None
            raise DeployError(f"{ptx.key}: {ptx.description} reverts in the simulation: "
                              f"{reason or str(err)[:300]}") from err
        return Sent(None, None, self.evm.result.gas_used, address, nonce)

    def call(self, address, contract, fn, args=()):
        f = codec(contract)[fn]
        out = self.evm.message_call(self.deployer, address, f.encode(list(args)), is_static=True)
        return f.decode(bytes(out))

    def nonce(self):
        return self.evm.basic(self.deployer).nonce


class NetworkSender(Sender):
    """Real transactions, signed by an ape account and sent through ape's provider."""

    def __init__(self, rpc: Rpc, account, provider):
        self.rpc, self.account, self.provider = rpc, account, provider
        self.deployer = to_checksum_address(account.address)

    def send(self, ptx, before_broadcast):
        from eth_utils import to_hex

        eco = self.provider.network.ecosystem
        kwargs = {"data": ptx.data, "sender": self.deployer}
        if ptx.to is not None:
            kwargs["receiver"] = ptx.to
        txn = self.account.prepare_transaction(eco.create_transaction(**kwargs))
        signed = self.account.sign_transaction(txn)
        if signed is None:
            raise DeployError(f"{ptx.key}: the transaction was not signed")
        tx_hash = to_hex(signed.txn_hash)
        nonce = int(txn.nonce)
        before_broadcast({"tx": tx_hash, "nonce": nonce,
                          "address": create_address(self.deployer, nonce) if ptx.kind != "call" else None})
        try:
            self.provider.send_transaction(signed)
        except Exception as err:  # ape raises per-provider error types; the receipt decides below
            receipt = self.rpc.receipt(tx_hash)
            if receipt is None or int(receipt["status"], 16) == 1:
                raise DeployError(f"{ptx.key}: sending {tx_hash} failed: {err}") from err
        return sent_from_receipt(self.rpc, tx_hash, nonce, ptx)

    def call(self, address, contract, fn, args=()):
        return self.rpc.call(address, contract, fn, args)

    def nonce(self):
        return self.rpc.nonce(self.deployer)


def sent_from_receipt(rpc: Rpc, tx_hash: str, nonce: int, ptx: Optional[PlannedTx] = None) -> Sent:
    receipt = rpc.receipt(tx_hash)
    if receipt is None:
        raise DeployError(f"no receipt for {tx_hash}")
    if int(receipt["status"], 16) != 1:
        what = f"{ptx.key}: {ptx.description}" if ptx else tx_hash
        raise DeployError(f"{what} reverted on chain (tx {tx_hash}, block {int(receipt['blockNumber'], 16)})")
    address = receipt.get("contractAddress")
    return Sent(tx_hash, int(receipt["blockNumber"], 16), int(receipt["gasUsed"], 16),
                to_checksum_address(address) if address else None, nonce)


class View:
    def call(self, address, contract, fn, args=()):
        raise NotImplementedError


class NetworkView(View):
    def __init__(self, rpc: Rpc):
        self.rpc = rpc

    def call(self, address, contract, fn, args=()):
        return self.rpc.call(address, contract, fn, args)
