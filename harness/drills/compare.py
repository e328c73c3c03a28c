"""`ape run drill compare A B`: what changed between two drill reports.

A risk team runs a drill, changes a parameter or the code, runs it again
and asks what moved. Both reports are report.json files (or the folders
holding them) of the same format; every figure of the sections below is
compared leaf by leaf, so a figure added to the report is compared without
a change here. Amounts are shown in USDC beside their base units, as in
the report itself; the scenario's own settings that differ are listed
first, since they usually explain the rest.
"""
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from ..protocol.markets import USDC

# The report's sections of figures (report.figures), in the report's order.
SECTIONS = ("positions", "bad_debt", "liquidator_rewards", "insurance_fund", "pool", "gas", "delay_steps",
            "model_agreement", "losses", "oracle")
# Leaves in token base units: shown in USDC too.
AMOUNT_SECTIONS = {"bad_debt", "liquidator_rewards", "insurance_fund", "pool", "losses"}
AMOUNT_LEAVES = {"liquidation_cost_usdc"}
# Not figures: a histogram's bins move with every loss, the per-keeper
# ledgers are compared through their totals.
SKIPPED = {("losses", "histogram")}


class CompareError(ValueError):
    """Why two reports cannot be compared: one line for the user."""


@dataclass
class Change:
    path: str
    a: Any
    b: Any
    amount: bool = False

    @property
    def delta(self) -> Optional[Union[int, float]]:
        if _number(self.a) and _number(self.b):
            return self.b - self.a
        return None


@dataclass
class Comparison:
    a_name: str
    b_name: str
    status: Tuple[str, str]
    scenario: List[Change] = field(default_factory=list)
    figures: List[Change] = field(default_factory=list)
    unchanged: int = 0


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def load(path: Union[str, Path]) -> Tuple[str, dict]:
    """(name, figures) of a report.json or of the folder holding one."""
    p = Path(path)
    if p.is_dir():
        p = p / "report.json"
    if not p.exists():
        raise CompareError(f"{path}: no drill report there (looked for {p})")
    try:
        data = json.loads(p.read_text())
    except (OSError, ValueError) as err:
        raise CompareError(f"{p}: not a drill report ({err})") from None
    if not isinstance(data, dict) or "format" not in data:
        raise CompareError(f"{p}: not a drill report (no 'format' field)")
    return str(p), data


def _leaves(value, prefix: str):
    if isinstance(value, dict):
        for k in value:
            yield from _leaves(value[k], f"{prefix}.{k}" if prefix else str(k))
    else:
        yield prefix, value


def compare(a: dict, b: dict, a_name: str = "A", b_name: str = "B") -> Comparison:
    """Every figure of SECTIONS that differs between reports `a` and `b`."""
    if a.get("format") != b.get("format"):
        raise CompareError(f"the reports have different formats ({a.get('format')} and {b.get('format')}): "
                           "re-run the older drill with this checkout")
    out = Comparison(a_name, b_name, (a.get("status"), b.get("status")))
    sa, sb = dict(_leaves(a.get("scenario", {}), "")), dict(_leaves(b.get("scenario", {}), ""))
    for key in sorted(set(sa) | set(sb)):
        if sa.get(key) != sb.get(key):
            out.scenario.append(Change(key, sa.get(key), sb.get(key)))
    for section in SECTIONS:
        la = {k: v for k, v in _leaves(a.get(section), section) if not _skipped(k)}
        lb = {k: v for k, v in _leaves(b.get(section), section) if not _skipped(k)}
        for key in list(dict.fromkeys(list(la) + list(lb))):
            va, vb = la.get(key), lb.get(key)
            if va == vb:
                out.unchanged += 1
                continue
            amount = section in AMOUNT_SECTIONS or key.rsplit(".", 1)[-1] in AMOUNT_LEAVES
            out.figures.append(Change(key, va, vb, amount=amount and _number(va or 0) and _number(vb or 0)))
    return out


def _skipped(key: str) -> bool:
    return any(key == ".".join(s) or key.startswith(".".join(s) + ".") for s in SKIPPED)


def _show(value, amount: bool) -> str:
    if value is None:
        return "-"
    if amount and isinstance(value, int):
        return f"{value / USDC:,.6f} USDC ({value})"
    if isinstance(value, float):
        return f"{value:,.4f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _show_delta(c: Change) -> str:
    d = c.delta
    if d is None:
        return ""
    sign = "+" if d > 0 else ""
    if c.amount and isinstance(d, int):
        text = f"{sign}{d / USDC:,.6f} USDC"
    elif isinstance(d, float):
        text = f"{sign}{d:,.4f}"
    else:
        text = f"{sign}{d:,}"
    if _number(c.a) and c.a:
        text += f" ({sign}{100 * d / abs(c.a):.1f}%)"
    return text


def render(c: Comparison) -> str:
    """The comparison as Markdown: scenario settings, then the figures that moved."""
    lines = ["# Drill comparison", "", f"- A: `{c.a_name}` (status {c.status[0]})",
             f"- B: `{c.b_name}` (status {c.status[1]})", ""]
    if c.scenario:
        lines += ["## Scenario settings that differ", "", "| setting | A | B |", "| --- | --- | --- |"]
        lines += [f"| `{x.path}` | {_show(x.a, False)} | {_show(x.b, False)} |" for x in c.scenario]
        lines.append("")
    if c.figures:
        lines += [f"## Figures that differ ({len(c.figures)}; {c.unchanged} the same)", "",
                  "| figure | A | B | B - A |", "| --- | --- | --- | --- |"]
        lines += [f"| `{x.path}` | {_show(x.a, x.amount)} | {_show(x.b, x.amount)} | {_show_delta(x)} |"
                  for x in c.figures]
    else:
        lines.append(f"Every figure is the same ({c.unchanged} compared).")
    return "\n".join(lines) + "\n"
