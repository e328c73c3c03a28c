"""A restart's guard: the keeper sends nothing while a transaction of its
account is still pending.

A keeper stopped after it broadcast a liquidation and before the block
(killed, crashed, its machine rebooted) leaves that transaction in the
node's pool. A fresh run would sign the next one with a nonce the node
may count from the mined state, replacing or colliding with the one in
flight, or, counting from the pool, queue a second liquidation of the same
position behind the first. Neither pays: the node's two nonces
(eth_getTransactionCount at "latest" and at "pending") tell whether
anything of this account is still in flight, and while it is, a round
sends nothing and says so; what it found waits for the next round, after
the block that settles the earlier transaction.
"""
from typing import Callable, Optional


class PendingTransactions:
    def __init__(self, request: Callable, address: str):
        self.request, self.address = request, address

    def refusal(self) -> Optional[str]:
        """Why this round sends nothing (transactions of this account
        pending, or the nonces unknown), else None."""
        from ..chains.rpc import RpcError

        try:
            mined = int(self.request("eth_getTransactionCount", [self.address, "latest"]), 16)
            pending = int(self.request("eth_getTransactionCount", [self.address, "pending"]), 16)
        except RpcError as err:
            # A nonce picked blind may replace the transaction in flight.
            return f"this account's nonce unknown (eth_getTransactionCount: {err})"
        if pending > mined:
            return (f"{pending - mined} transaction(s) of this account still pending (nonce {mined} on), from an "
                    f"earlier run or another process using it: nothing sent until they are mined")
        return None
