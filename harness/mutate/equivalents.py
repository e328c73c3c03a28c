"""The reviewed equivalents file (tests/mutation/equivalents.yaml).

A survivor that no test can kill because it changes no behaviour is listed
there by id with the reason, after review. `--check` fails on any survivor
not listed, so a new gap in the tests cannot pass unnoticed.
"""
from pathlib import Path
from typing import Dict, List

import yaml

DEFAULT = Path("tests") / "mutation" / "equivalents.yaml"


def load(path: Path) -> Dict[str, dict]:
    if not path.exists():
        return {}
    body = yaml.safe_load(path.read_text()) or {}
    out = {}
    for entry in body.get("equivalents") or []:
        if not entry.get("id") or not str(entry.get("reason", "")).strip():
            raise ValueError(f"{path}: every entry needs an id and a reason: {entry!r}")
        out[str(entry["id"])] = entry
    return out


def apply(rows: List[dict], reviewed: Dict[str, dict]) -> None:
    """Survivors listed as reviewed count as equivalent (with the reason)."""
    for row in rows:
        entry = reviewed.get(row["id"])
        if entry and row["status"] == "survived":
            row["status"] = "equivalent"
            row["equivalence"] = "reviewed"
            row["detail"] = str(entry["reason"]).strip()


def failures(rows: List[dict]) -> List[dict]:
    return [r for r in rows if r["status"] in ("survived", "error")]


def entry_for(row: dict, reason: str = "TODO: why no behaviour changes") -> dict:
    """A ready-to-review entry for a survivor (printed by --check)."""
    return {"id": row["id"], "where": row["where"], "operator": row["operator"],
            "change": f"{row['original']!r} -> {row['replacement']!r}", "reason": reason}
