"""The contracts' mutants: every operator over every file the deployables
are built from."""
import fnmatch
from pathlib import Path
from typing import Iterable, List, Optional

import vyper.ast as vy_ast

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
        functions = [(f.lineno, f.end_lineno, f.name) for f in tree.typed[path].get_descendants(vy_ast.FunctionDef)]
        for e in edits(tree.typed[path], text, operators):
            m = from_edit("contract", rel, text, e, tree.reaches[path])
            inside = [name for a, b, name in functions if a <= e.line <= b]
            if inside:
                m.extra["function"] = inside[0]
            out.append(m)
    return out


def _matches(rel: str, pattern: str) -> bool:
    """`--contracts` globs match the repository path or the path under
    contracts/ ("modules/risk.vy", "contracts/**/*.vy", "Engine.vy")."""
    under = rel.split("/", 1)[1] if rel.startswith("contracts/") else rel
    pats = [p.strip() for p in pattern.split(",") if p.strip()]
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(under, p) or fnmatch.fnmatch(Path(rel).name, p)
               for p in pats)
