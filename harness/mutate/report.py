"""JSON and Markdown reports of a run, with kill rates per operator and per file."""
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Dict, List

STATUSES = ("killed", "survived", "equivalent", "not-compiling", "timeout", "error")


def rates(rows: List[dict], key: str) -> Dict[str, dict]:
    groups: Dict[str, Dict[str, int]] = defaultdict(lambda: {s: 0 for s in STATUSES})
    for r in rows:
        groups[r[key]][r["status"]] += 1
        groups["(all)"][r["status"]] += 1
    out = {}
    for name, c in sorted(groups.items(), key=lambda kv: (kv[0] == "(all)", kv[0])):
        # Equivalent and non-compiling mutants are not faults a test could catch.
        live = c["killed"] + c["survived"] + c["timeout"] + c["error"]
        out[name] = {**c, "mutants": sum(c.values()), "live": live,
                     "kill_rate": round(c["killed"] / live, 4) if live else None}
    return out


def build(kind: str, rows: List[dict], meta: dict) -> dict:
    return {
        "kind": kind,
        "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **meta,
        "totals": rates(rows, "kind")["(all)"] if rows else {},
        "by_operator": rates(rows, "operator"),
        "by_file": rates(rows, "path"),
        "mutants": rows,
    }


def _pct(x):
    return "-" if x is None else f"{100 * x:.1f}%"


def _table(groups: Dict[str, dict], label: str) -> List[str]:
    lines = [f"| {label} | mutants | killed | survived | equivalent | not compiling | timeout | error | kill rate |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, c in groups.items():
        lines.append(f"| {name} | {c['mutants']} | {c['killed']} | {c['survived']} | {c['equivalent']} | "
                     f"{c['not-compiling']} | {c['timeout']} | {c['error']} | {_pct(c['kill_rate'])} |")
    return lines


def markdown(report: dict) -> str:
    rows = report["mutants"]
    t = report.get("totals") or {}
    out = [f"# Mutation testing: {report['kind']}", "",
           f"Generated {report['generated']}; {report.get('selection', '')}", "",
           f"Stages: {report.get('stages', '')}. Time limit {report.get('timeout', '?')} s per mutant, "
           f"{report.get('jobs', '?')} in parallel; wall time {report.get('seconds', '?')} s.", "",
           f"**{t.get('mutants', 0)} mutants: {t.get('killed', 0)} killed, {t.get('survived', 0)} survived, "
           f"{t.get('equivalent', 0)} equivalent, {t.get('not-compiling', 0)} not compiling, "
           f"{t.get('timeout', 0)} timed out, {t.get('error', 0)} errors; kill rate {_pct(t.get('kill_rate'))}** "
           "(killed / (killed + survived + timeout + error)).", "",
           "## By operator", "", *_table(report["by_operator"], "operator"), "",
           "## By file", "", *_table(report["by_file"], "file"), ""]
    killers = defaultdict(int)
    for r in rows:
        if r["status"] == "killed":
            killers[r["killed_by"].split("::")[0] if "::" in r["killed_by"] else r["killed_by"]] += 1
    if killers:
        out += ["## What killed them", "", "| test | mutants |", "| --- | ---: |"]
        out += [f"| {k} | {n} |" for k, n in sorted(killers.items(), key=lambda kv: -kv[1])] + [""]
    for title, status in (("Survivors", "survived"), ("Timed out", "timeout"), ("Errors", "error"),
                          ("Equivalent", "equivalent")):
        chosen = [r for r in rows if r["status"] == status]
        if not chosen:
            continue
        out += [f"## {title} ({len(chosen)})", ""]
        for r in chosen:
            out += [f"### `{r['id']}` {r['operator']} at `{r['where']}`", ""]
            if r.get("detail"):
                out += [f"{r.get('equivalence', '')} {r['detail']}".strip(), ""]
            out += ["```diff", r["diff"].rstrip("\n"), "```", ""]
    out += ["## Every mutant", "", "| id | operator | where | change | status | killed by / detail |",
            "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        change = f"`{_cell(r['original'])}` -> `{_cell(r['replacement'])}`"
        by = r.get("killed_by") or r.get("detail") or ""
        out.append(f"| `{r['id']}` | {r['operator']} | `{r['where']}` | {change} | {r['status']} | "
                   f"{_cell(by)} |")
    return "\n".join(out) + "\n"


def _cell(text: str, limit: int = 90) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|").replace("`", "'")
    return text if len(text) <= limit else text[:limit - 3] + "..."


def write(report: dict, out_dir: Path, name: str) -> tuple:
    out_dir.mkdir(parents=True, exist_ok=True)
    j, m = out_dir / f"{name}.json", out_dir / f"{name}.md"
    j.write_text(json.dumps(report, indent=1))
    m.write_text(markdown(report))
    return j, m
