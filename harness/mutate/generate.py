"""The contracts' mutants: every operator over every file the deployables
are built from."""
import fnmatch
from pathlib import Path
from typing import Iterable, List, Optional

from .mutant import Mutant, from_edit
from .operators import OPERATORS, edits
from .sources import SourceTree, analyse


def contract_mutants(root: Path, contracts_glob: Optional[str] = None,
                     operators: Iterable[str] = tuple(OPERATORS), tree: Optional[SourceTree] = None) -> List[Mutant]:
    tree = tree or analyse(root)
    out: List[Mutant] = []
    for path in tree.files():
        rel = tree.rel(path)
        if contracts_glob and not _matches(rel, contracts_glob):
            continue
        text = path.read_text()
        for e in edits(tree.typed[path], text, operators):
            out.append(from_edit("contract", rel, text, e, tree.reaches[path]))
    return out


def _matches(rel: str, pattern: str) -> bool:
    """`--contracts` globs match the repository path or the path under
    contracts/ ("modules/risk.vy", "contracts/**/*.vy", "Engine.vy")."""
    under = rel.split("/", 1)[1] if rel.startswith("contracts/") else rel
    pats = [p.strip() for p in pattern.split(",") if p.strip()]
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(under, p) or fnmatch.fnmatch(Path(rel).name, p)
               for p in pats)
