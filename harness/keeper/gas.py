"""The operator's gas-price limit: a round in which the node asks more than
--max-gas-price sends nothing (no liquidation, no execution) and says so in
one line. The price is the node's own (eth_gasPrice), the one it would
charge the keeper's transactions."""
from decimal import Decimal
from typing import Callable, Optional

GWEI = 10**9


def gwei(wei: int) -> str:
    return f"{Decimal(wei) / GWEI:.9f}".rstrip("0").rstrip(".")


class GasPriceLimit:
    def __init__(self, request: Callable, max_gwei):
        self.request = request
        self.limit_wei = int(Decimal(str(max_gwei)) * GWEI)
        self.last: Optional[int] = None

    def refusal(self) -> Optional[str]:
        """"gas price X gwei above the limit Y gwei" when it is, else None."""
        from ..chains.rpc import RpcError

        try:
            self.last = price = int(self.request("eth_gasPrice", []), 16)
        except RpcError as err:
            # Not knowing the price is no licence to pay any price.
            return f"gas price unknown (eth_gasPrice: {err})"
        if price > self.limit_wei:
            return f"gas price {gwei(price)} gwei above the limit {gwei(self.limit_wei)} gwei"
        return None
