"""Audit a live deployment: replay its whole event history through the model
and compare the model's state with the chain's, field by field.

The engine's events carry everything an action used: its sender (owners,
liquidators, funders), sizes and amounts, and the oracle price. So each
event is replayed by setting the model's feed to the event's price at the
block's timestamp and calling the same model function with the same
arguments and sender; the model must then reproduce the event's figures,
the borrow-index accruals and vault creations logged with it, and the
exact token transfers the chain logged in the same transaction. The pool's
The pool's request events (DepositRequested, RedeemRequested,
RequestExecuted, RequestCancelled) are replayed the same way.

Then the chain's current state (read at one block) must equal the model's:
every vault slot's position, every protocol balance, pool and insurance
totals, market parameters and state, owner and guardian. Token transfers
into protocol addresses that no action explains (donations) are reported,
and so is every vault holding tokens no open position accounts for. Every
contract's code is checked against this checkout's compiled sources, every
vault against the EIP-1167 proxy of the manifest's implementation.

A discrepancy names its subject (a position, the pool, a market...), the
field, the model's and the chain's values, and where they diverged: the
event the model could not reproduce, or the last event that touched the
subject when nothing on chain explains the change.
"""
from types import SimpleNamespace
from typing import Callable, Dict, Optional

from ..chains.rpc import Rpc
from ..protocol.layout import engine_args
from ..protocol.snapshot import Snapshot
from .audit_compare import check_code_of, compare_state
from .audit_replay import Replayer
from .audit_report import Discrepancy, Report, write_json  # noqa: F401 - the audit's API
from .bytecode import source_hashes
from .indexer import Indexer
from .manifest import Manifest


# ---------------------------------------------------------------- the audit

class Auditor:
    def __init__(self, rpc: Rpc, manifest: Manifest, *, max_range: int = 2_000, max_topics: int = 50,
                 to_block: Optional[int] = None, progress: Optional[Callable[[str], None]] = None):
        self.rpc, self.m = rpc, manifest
        self.max_range, self.max_topics, self.to_block = max_range, max_topics, to_block
        self.progress = progress or (lambda line: None)
        self._timestamps: Dict[int, int] = {}

    def _timestamp(self, block: int) -> int:
        ts = self._timestamps.get(block)
        if ts is None:
            ts = self._timestamps[block] = self.rpc.timestamp(block)
        return ts

    def run(self) -> Report:
        m, rpc = self.m, self.rpc
        chain_id = rpc.chain_id()
        head = rpc.block_number()
        to_block = head if self.to_block is None else min(self.to_block, head)
        report = Report(str(m.path), m.data.get("name", "?"), chain_id, m.data.get("start_block") or 0, to_block)
        if chain_id != m.data["chain_id"] or rpc.block_hash(0) != m.data["genesis_hash"]:
            report.discrepancies.append(Discrepancy(
                "chain", "network", "chain identity", (m.data["chain_id"], m.data["genesis_hash"]),
                (chain_id, rpc.block_hash(0)),
                "the connected node is not the manifest's chain (wrong --network, or a restarted devnet)"))
            return report
        for key in ("engine", "pool", "insurance", "vault_implementation"):
            m.address(key)
        engine, pool, insurance = m.address("engine"), m.address("pool"), m.address("insurance")
        impl = m.address("vault_implementation")
        args = engine_args(m.contracts["engine"]["args"])
        token = args["token"]
        if source_hashes() != m.data.get("sources"):
            report.notes.append("contracts/ changed since this deployment: code is checked against this checkout")

        chain_vaults = rpc.call(engine, "Engine", "vault_count", block=to_block)
        chain_markets = rpc.call(engine, "Engine", "market_count", block=to_block)
        feeds = {rpc.call(engine, "Engine", "market_state", [i], block=to_block)[0] for i in range(1, chain_markets + 1)}
        feeds |= set(m.feeds().values())

        orders = m.address("orders")
        replayer = Replayer(engine=engine, pool=pool, insurance=insurance, token=token,
                            engine_tx=m.contracts["engine"]["tx"] or "", timestamp=self._timestamp, report=report,
                            orders=orders, rules=m.address("rules"), sequencer_feed=args["sequencer_feed"],
                            sequencer_grace=args["sequencer_grace"], execution_fee=args["execution_fee"],
                            redeem_fee_bps=args["redeem_fee_bps"])
        replayer.know_vaults(chain_vaults)
        holders = [engine, pool, insurance, orders] + [replayer.vault_address(s) for s in range(1, chain_vaults + 1)]
        indexer = Indexer(rpc, engine=engine, pool=pool, token=token, feeds=sorted(feeds), max_range=self.max_range,
                          max_topics=self.max_topics, progress=self.progress,
                          orders=orders)
        self.progress(f"fetching logs of blocks {report.from_block}..{to_block} "
                      f"(up to {self.max_range} blocks per request)")
        logs = indexer.fetch(report.from_block, to_block, holders)
        report.stats["logs"] = len(logs)
        report.stats["log_requests"] = indexer.fetcher.requests
        if indexer.fetcher.narrowed:
            report.notes.append(f"the node refused {indexer.fetcher.narrowed} eth_getLogs window(s); "
                                "they were fetched in smaller ranges")
        self.progress(f"replaying {len(logs)} logs through the model")
        replayer.replay(logs)
        report.stats.update(replayer.stats)

        # The chain's whole state at the audited block (protocol/snapshot.py):
        # every slot, every protocol balance, the shares of every LP the log knows.
        d = SimpleNamespace(engine=engine, token=token, pool=pool, lens=m.address("lens"))
        lps = [h for h, v in replayer.pool.shares.balanceOf.items() if v]
        snapshot = Snapshot(d, [engine, pool, insurance], lps, chain_vaults,
                            max(replayer.engine.market_count, chain_markets))
        state = snapshot.read(lambda calls: rpc.call_many(calls, block=to_block))
        pending_owner = rpc.call(engine, "Engine", "pending_owner", block=to_block)
        compare_state(replayer, state, pending_owner, report)
        check_code_of(replayer, state, rpc, report, m, token, impl, to_block)
        return report


def audit(rpc: Rpc, manifest_path, **kwargs) -> Report:
    return Auditor(rpc, Manifest.load(manifest_path), **kwargs).run()
