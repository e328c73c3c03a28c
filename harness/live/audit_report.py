"""The audit's verdict: each discrepancy (subject, field, model and chain
values, where they diverged), the report that groups them, and its JSON."""
import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional


@dataclass
class Discrepancy:
    kind: str                 # replay | transfer | state | balance | invariant | code | chain
    subject: str              # "position 4294967297", "pool", "market 1", "engine", ...
    field: str
    model: Any = None
    chain: Any = None
    where: str = ""           # the event where they diverged, or what is known about it
    position_id: Optional[int] = None
    slot: Optional[int] = None
    address: Optional[str] = None
    event: Optional[dict] = None

    def line(self) -> str:
        s = f"{self.field}: model {_show(self.model)}, chain {_show(self.chain)}"
        if self.model is None and self.chain is None:
            s = self.field
        return s


def _show(v):
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, int):
        return f"{v:,}".replace(",", "_") if abs(v) >= 10_000 else str(v)
    return str(v)


@dataclass
class Donation:
    """Tokens sent into a protocol address by a plain transfer, outside the
    protocol's own flows: the sender's gift to whoever the address pays
    (a vault's next owners, the pool's LPs, the insurance fund), which
    breaks no invariant and is reported, not flagged."""
    subject: str
    address: str
    sender: str
    amount: int
    tx: str
    block: int

    def line(self) -> str:
        return (f"{self.amount / 10**6:,.6f} USDC ({self.amount}) into {self.subject} {self.address} "
                f"from {self.sender}, block {self.block}, tx {self.tx}")


@dataclass
class Report:
    manifest: str
    network: str
    chain_id: int
    from_block: int
    to_block: int
    stats: Dict[str, int] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)
    discrepancies: List[Discrepancy] = field(default_factory=list)
    subjects: Dict[str, str] = field(default_factory=dict)   # subject -> description
    donations: List[Donation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.discrepancies

    def for_position(self, position_id: int) -> List[Discrepancy]:
        return [d for d in self.discrepancies if d.position_id == position_id]

    def as_dict(self) -> dict:
        return {"ok": self.ok, "manifest": self.manifest, "network": self.network, "chain_id": self.chain_id,
                "from_block": self.from_block, "to_block": self.to_block, "stats": self.stats, "notes": self.notes,
                "discrepancies": [asdict(d) for d in self.discrepancies],
                "donations": [asdict(d) for d in self.donations]}

    def render(self) -> str:
        s = self.stats
        out = [
            "isomargin audit",
            f"  manifest  {self.manifest} ({self.network}, chain {self.chain_id})",
            f"  events    blocks {self.from_block}..{self.to_block}: {s.get('logs', 0)} logs in "
            f"{s.get('log_requests', 0)} eth_getLogs requests",
            f"  replayed  {s.get('engine_actions', 0)} engine actions, {s.get('pool_actions', 0)} pool actions, "
            f"{s.get('share_transfers', 0)} share transfers, {s.get('token_transfers', 0)} token transfers",
            f"  compared  {s.get('markets', 0)} markets, {s.get('slots', 0)} vault slots "
            f"({s.get('open_positions', 0)} open positions), {s.get('balances', 0)} balances, "
            f"{s.get('code_checks', 0)} contracts' code",
        ]
        for note in self.notes:
            out.append(f"  note: {note}")
        if self.donations:
            out.append(f"  donations {len(self.donations)} (plain transfers into protocol addresses, outside its "
                       "flows: accounted to their holder, not discrepancies)")
            out += [f"    - {d.line()}" for d in self.donations]
        if self.ok:
            out.append("OK: the chain's state is what its events say, and all code is as compiled from this checkout.")
            return "\n".join(out)
        out.append(f"DISCREPANCIES: {len(self.discrepancies)}")
        groups: Dict[str, List[Discrepancy]] = defaultdict(list)
        for d in self.discrepancies:
            groups[d.subject].append(d)
        for subject, items in groups.items():
            desc = self.subjects.get(subject)
            out.append(f"  {subject}" + (f" ({desc})" if desc else ""))
            for d in items:
                out.append(f"    - [{d.kind}] {d.line()}")
                if d.where:
                    out.append(f"      at: {d.where}")
        return "\n".join(out)


def write_json(report: Report, path) -> None:
    with open(path, "w") as f:
        json.dump(report.as_dict(), f, indent=2, default=str)
