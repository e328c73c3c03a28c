"""Ape backend: the same operations through ape, on whatever network ape
is connected to (the default test chain, titanoboa, anvil, a testnet fork).

Transactions go through ape's accounts and providers exactly as a user's
would; reads are raw eth_calls decoded by the harness codec, so results
have the same shape as on every other backend.
"""
from .chain import TIMESTAMP_PROBE, Chain, ChainError, TxResult

BARE_REVERT_MESSAGES = {"Transaction failed.", "execution reverted", ""}


def started_for_this_command(provider) -> bool:
    """Whether ape launched this node itself (ape-foundry with `host: auto`
    and no node answering, as this project configures it) and will stop it
    when the command ends: such a node is new, so it holds no deployment,
    and one deployed on it is gone after the command."""
    return getattr(provider, "process", None) is not None


def no_node_hint(provider) -> str:
    """What to tell a user whose command found no node: ape started a fresh one."""
    return (f"ape started a fresh {provider.name} node for this command (nothing answered), which holds no "
            "deployment; start the deployment's node and point ape at it (for anvil: "
            "APE_FOUNDRY_HOST=http://127.0.0.1:8545)")


class ApeChain(Chain):
    name = "ape"

    def __init__(self, accounts=None):
        super().__init__()
        import ape

        self.ape = ape
        accts = list(accounts) if accounts is not None else list(ape.accounts.test_accounts)
        self._accounts = {a.address: a for a in accts}
        self.accounts = [a.address for a in accts]
        self._instances = {}
        self.name = f"ape:{ape.chain.provider.network_choice}"
        # Extra fields for every transaction (the keeper's max_fee cap).
        self.tx_kwargs = {}

    def _container(self, contract):
        return getattr(self.ape.project, contract)

    def _instance(self, address, contract):
        key = (address, contract)
        inst = self._instances.get(key)
        if inst is None:
            inst = self._instances[key] = self._container(contract).at(address)
        return inst

    def deploy(self, contract, args, sender):
        inst = self._container(contract).deploy(*args, sender=self._accounts[sender])
        self._instances[(inst.address, contract)] = inst
        return inst.address

    def declare(self, contract, sender):
        # Naming the sender in the transaction itself: ape-titanoboa 0.8.0a1
        # otherwise hashes the blueprint transaction as sent from 0x0.
        receipt = self._accounts[sender].declare(self._container(contract), sender=sender)
        if not receipt.contract_address:
            raise ChainError(f"declaring {contract} created no contract")
        return receipt.contract_address

    def transact(self, address, contract, fn, args, sender):
        from ape.exceptions import ContractLogicError

        method = getattr(self._instance(address, contract), fn)
        try:
            receipt = method(*args, sender=self._accounts[sender], **self.tx_kwargs)
        except ContractLogicError as err:
            reason = err.message if err.message not in BARE_REVERT_MESSAGES else None
            return TxResult(False, reason, None, 0)
        return TxResult(True, None, None, receipt.gas_used)

    def call(self, address, contract, fn, args=()):
        f = self.codec(contract)[fn]
        provider = self.ape.chain.provider
        # A sender, though a view ignores it: without one web3's eth-tester
        # middleware guesses it by listing the accounts, three requests per
        # call, about 45% of a read's time on the default network.
        tx = provider.network.ecosystem.create_transaction(receiver=address, data=f.encode(args),
                                                           sender=self.accounts[0])
        try:
            out = provider.send_call(tx)
        except Exception as err:  # ape raises its own error types per provider
            raise ChainError(f"{contract}.{fn} failed: {err}") from err
        return f.decode(bytes(out))

    def set_next_timestamp(self, timestamp):
        self.ape.chain.pending_timestamp = timestamp

    def latest_timestamp(self):
        # After a restore the test provider's pending block can already be
        # ahead of the head: never hand out a timestamp at or before it.
        chain = self.ape.chain
        return max(chain.blocks.head.timestamp, chain.pending_timestamp - 1)

    def call_timestamp(self):
        # The block tag `call` uses (ape's default, "latest").
        out = self.ape.chain.provider.make_request(
            "eth_call", [{"from": self.accounts[0], "data": TIMESTAMP_PROBE}, "latest"])
        return int(out, 16) if isinstance(out, str) else int.from_bytes(bytes(out), "big")

    def snapshot(self):
        return self.ape.chain.snapshot()

    def restore(self, snapshot_id):
        self.ape.chain.restore(snapshot_id)

    def code_at(self, address):
        return bytes(self.ape.chain.provider.get_code(address))
