"""A deployment's event history, fetched in block ranges and decoded.

Public RPCs cap eth_getLogs by block range and by result count, each
differently and often with an error that only says "too many". So logs are
fetched in windows of at most `max_range` blocks, and a window the node
refuses is halved until it is accepted. Token transfers are fetched by
topic (sender or receiver among the protocol's addresses), never the whole
token's history: on a testnet USDC that would be millions of logs.
"""
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Sequence

from eth_abi import decode
from eth_utils import keccak, to_checksum_address

from ..chains.artifacts import artifact
from ..chains.codec import abi_type
from ..chains.rpc import Rpc, RpcError

TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
ZERO = "0x" + "0" * 40


def _norm(value):
    if isinstance(value, str) and len(value) == 42 and value.startswith("0x"):
        return to_checksum_address(value)
    if isinstance(value, (list, tuple)):
        return tuple(_norm(v) for v in value)
    return value


def topic_address(address: str) -> str:
    return "0x" + "0" * 24 + address[2:].lower()


@dataclass(frozen=True)
class Log:
    block: int
    tx: str
    tx_index: int
    log_index: int
    address: str
    contract: str          # "Engine", "LiquidityPool", "OrderBook", "Token", "Feed" or "?"
    event: str             # the event's name, "?" if not in the contract's ABI
    args: dict = field(hash=False, compare=False)

    @property
    def key(self):
        return (self.block, self.log_index)

    def ref(self) -> str:
        return f"{self.contract}.{self.event} in block {self.block}, tx {self.tx}, log {self.log_index}"

    def as_dict(self) -> dict:
        return {"block": self.block, "tx": self.tx, "log_index": self.log_index, "contract": self.contract,
                "event": self.event}


class EventDecoder:
    def __init__(self, abi: list):
        self.events = {}
        for item in abi:
            if item.get("type") != "event":
                continue
            sig = f"{item['name']}({','.join(abi_type(i) for i in item['inputs'])})"
            self.events["0x" + keccak(text=sig).hex()] = item

    def decode(self, raw: dict):
        topics = raw["topics"]
        item = self.events.get(topics[0]) if topics else None
        if item is None:
            return "?", {}
        indexed = [i for i in item["inputs"] if i["indexed"]]
        plain = [i for i in item["inputs"] if not i["indexed"]]
        args = {}
        for i, t in zip(indexed, topics[1:]):
            args[i["name"]] = _norm(decode([abi_type(i)], bytes.fromhex(t[2:]))[0])
        data = bytes.fromhex(raw["data"][2:])
        for i, v in zip(plain, decode([abi_type(i) for i in plain], data) if plain else []):
            args[i["name"]] = _norm(v)
        return item["name"], args


class LogFetcher:
    """eth_getLogs over a block range, in windows the node accepts."""

    def __init__(self, rpc: Rpc, max_range: int = 2_000, progress: Optional[Callable[[str], None]] = None):
        if max_range < 1:
            raise ValueError("max_range must be at least 1")
        self.rpc, self.max_range, self.progress = rpc, max_range, progress
        self.requests = 0
        self.narrowed = 0

    def fetch(self, address, from_block: int, to_block: int, topics: Optional[list] = None) -> list:
        out, start, step = [], from_block, self.max_range
        while start <= to_block:
            end = min(start + step - 1, to_block)
            try:
                self.requests += 1
                out.extend(self.rpc.logs(address, start, end, topics))
            except RpcError as err:
                if step == 1:
                    raise RpcError(f"eth_getLogs refused even a single block ({start}): {err}") from err
                step = max(1, step // 2)
                self.narrowed += 1
                if self.progress:
                    self.progress(f"node refused blocks {start}..{end} ({err}); retrying {step} blocks at a time")
                continue
            start = end + 1
        return out


class Indexer:
    """Decode the logs of the engine, the pool, the token (transfers touching
    the given holders) and any feeds, into one list in chain order."""

    def __init__(self, rpc: Rpc, *, engine: str, pool: str, token: str, feeds: Iterable[str] = (),
                 max_range: int = 2_000, max_topics: int = 50, progress=None, orders: str = ""):
        self.fetcher = LogFetcher(rpc, max_range, progress)
        self.engine, self.pool, self.token, self.orders = engine, pool, token, orders
        self.feeds = list(feeds)
        self.max_topics = max_topics
        self.decoders = {
            "Engine": EventDecoder(artifact("Engine")["abi"]),
            "LiquidityPool": EventDecoder(artifact("LiquidityPool")["abi"]),
            "OrderBook": EventDecoder(artifact("OrderBook")["abi"]),
            "Token": EventDecoder(artifact("MockUSDC")["abi"]),
            "Feed": EventDecoder(artifact("MockAggregator")["abi"]),
        }

    def _contract(self, address: str) -> str:
        a = to_checksum_address(address)
        if a == self.engine:
            return "Engine"
        if a == self.pool:
            return "LiquidityPool"
        if a == self.orders:
            return "OrderBook"
        if a == self.token:
            return "Token"
        if a in self.feeds:
            return "Feed"
        return "?"

    def _decode(self, raw: dict) -> Log:
        contract = self._contract(raw["address"])
        name, args = self.decoders[contract].decode(raw) if contract in self.decoders else ("?", {})
        return Log(int(raw["blockNumber"], 16), raw["transactionHash"], int(raw["transactionIndex"], 16),
                   int(raw["logIndex"], 16), to_checksum_address(raw["address"]), contract, name, args)

    def fetch(self, from_block: int, to_block: int, holders: Sequence[str]) -> List[Log]:
        raws = self.fetcher.fetch([self.engine, self.pool] + ([self.orders] if self.orders else []) + self.feeds,
                                  from_block, to_block)
        topics = [topic_address(h) for h in holders]
        for i in range(0, len(topics), self.max_topics):
            chunk = topics[i:i + self.max_topics]
            raws += self.fetcher.fetch(self.token, from_block, to_block, [TRANSFER_TOPIC, None, chunk])
            raws += self.fetcher.fetch(self.token, from_block, to_block, [TRANSFER_TOPIC, chunk])
        seen: Dict[tuple, Log] = {}
        for raw in raws:
            if raw.get("removed"):
                continue
            log = self._decode(raw)
            seen.setdefault(log.key, log)
        return sorted(seen.values(), key=lambda l: l.key)


def by_transaction(logs: List[Log]):
    """Group logs (in chain order) by transaction."""
    group: List[Log] = []
    for log in logs:
        if group and (log.block, log.tx) != (group[0].block, group[0].tx):
            yield group
            group = []
        group.append(log)
    if group:
        yield group
