"""The files a drill writes into its report folder, by name.

A re-run into the same `--out` first removes these, and only these: a
plot the new run does not draw (`--no-plots`, a plot since dropped) must
not sit beside the new report as if it were its own, and whatever else
the user keeps in that folder is not the drill's to delete.
"""
from pathlib import Path
from typing import List

TABLES = ("report.json", "report.md", "report.html", "positions.csv", "liquidations.csv")
PLOTS = ("price.png", "open_interest.png", "insurance_pool.png", "backlog.png", "losses.png", "gas.png")


def clear(out: Path) -> List[str]:
    """Remove the drill's own files from `out`; the names removed."""
    removed = []
    for name in TABLES + PLOTS:
        path = Path(out) / name
        if path.is_file():
            path.unlink()
            removed.append(name)
    return removed
