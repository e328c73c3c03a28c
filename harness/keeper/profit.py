"""Is a liquidation worth its gas? Asked of the node before sending.

The reward is not computed here: the node runs the liquidation in a
simulated block (eth_simulateV1, no signature, nothing sent) and the
engine's own PositionLiquidated event says what it would pay, beside the
gas the call used. Only the exchange rate is the operator's: how many
collateral tokens one unit of the chain's coin is worth (--coin-price),
since the engine knows no ETH price. A node without eth_simulateV1 leaves
the check off, said once, rather than holding every liquidation back.
"""
from fractions import Fraction
from typing import Callable, Optional

from ..chains.artifacts import artifact
from ..chains.rpc import RpcError

UNPROFITABLE = "keeper: reward below gas cost"


def _event_layout():
    from eth_utils import keccak

    (abi,) = [e for e in artifact("Engine")["abi"] if e.get("type") == "event" and e["name"] == "PositionLiquidated"]
    signature = f"PositionLiquidated({','.join(i['type'] for i in abi['inputs'])})"
    data_fields = [i["name"] for i in abi["inputs"] if not i["indexed"]]
    return "0x" + keccak(text=signature).hex(), data_fields.index("reward")


class RewardCheck:
    """`refusal(position_id, sender)`: UNPROFITABLE when the simulated
    reward is below gas used x gas price x coin price, else None.
    `last` keeps the figures of the latest check, by position id."""

    def __init__(self, request: Callable, engine: str, encode: Callable[[int], bytes], coin_price, *,
                 token_decimals: int = 6, log: Callable[[str], None] = print):
        self.request, self.engine, self.encode = request, engine, encode
        self.coin_price = Fraction(str(coin_price))
        self.token_decimals = token_decimals
        self.log = log
        self.off = False
        self.topic, self.reward_word = _event_layout()
        self.last = {}

    def refusal(self, position_id: int, sender: str) -> Optional[str]:
        if self.off:
            return None
        call = {"from": sender, "to": self.engine, "data": "0x" + self.encode(position_id).hex()}
        try:
            (block,) = self.request("eth_simulateV1", [{"blockStateCalls": [{"calls": [call]}]}, "latest"])
            gas_price = int(self.request("eth_gasPrice", []), 16)
        except RpcError as err:
            self.off = True
            self.log(f"reward-versus-gas check off: the node cannot simulate a call (eth_simulateV1: {err})")
            return None
        (result,) = block["calls"]
        if int(result["status"], 16) != 1:
            return None                # the transaction's own revert reason will say why
        logs = [entry for entry in result["logs"] if entry["topics"][0].lower() == self.topic]
        if not logs:
            return None
        data = bytes.fromhex(logs[0]["data"][2:])
        reward = int.from_bytes(data[32 * self.reward_word: 32 * (self.reward_word + 1)], "big")
        gas = int(result["gasUsed"], 16)
        cost = gas * gas_price * self.coin_price * 10**self.token_decimals / 10**18
        self.last[position_id] = {"reward": reward, "gas": gas, "gas_price": gas_price, "cost": int(cost)}
        return UNPROFITABLE if reward < cost else None
