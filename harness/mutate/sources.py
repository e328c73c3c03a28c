"""The contracts as the compiler sees them.

A deployable is a `.vy` file outside `modules/` (the rule
harness/chains/artifacts.py finds contracts by). Running vyper's semantic
analysis on each deployable gives every module it pulls in, typed: which
deployables a file reaches (so only they are rebuilt for a mutant of it)
and the type of every expression (so argument swaps keep types).
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Set

import snekmate
from vyper.compiler.input_bundle import FilesystemInputBundle
from vyper.compiler.phases import CompilerData


def search_paths(contracts: Path) -> List[Path]:
    """Where imports resolve: the contracts folder and snekmate from site-packages (as artifacts.py)."""
    return [contracts, Path(list(snekmate.__path__)[0]).parent]


def is_deployable(path: Path, contracts: Path) -> bool:
    return path.suffix == ".vy" and "modules" not in path.relative_to(contracts).parts


@dataclass
class SourceTree:
    root: Path                                    # the repository
    contracts: Path
    deployables: Dict[str, Path] = field(default_factory=dict)       # name -> file
    reaches: Dict[Path, Set[str]] = field(default_factory=dict)      # file -> deployables built from it
    typed: Dict[Path, object] = field(default_factory=dict)          # file -> annotated vyper Module
    errors: Dict[str, str] = field(default_factory=dict)             # deployable -> why it did not analyse

    def files(self) -> List[Path]:
        return sorted(self.reaches)

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()


def _modules(module_t, out: Dict[str, object]) -> None:
    mod = module_t._module
    key = str(mod.resolved_path)
    if key in out:
        return
    out[key] = mod
    for info in module_t.imported_modules.values():
        _modules(info.typ, out)


def analyse(root: Path) -> SourceTree:
    root = root.resolve()
    contracts = root / "contracts"
    tree = SourceTree(root, contracts)
    for path in sorted(contracts.rglob("*.vy")):
        if is_deployable(path, contracts):
            tree.deployables[path.stem] = path
    for name, path in tree.deployables.items():
        bundle = FilesystemInputBundle(search_paths(contracts))
        try:
            data = CompilerData(bundle.load_file(path), input_bundle=bundle)
            module = data.annotated_vyper_module
        except Exception as err:  # a contract mid-rewrite elsewhere must not stop the rest
            tree.errors[name] = f"{type(err).__name__}: {err}"
            continue
        found: Dict[str, object] = {}
        _modules(module._metadata["type"], found)
        for key, mod in found.items():
            p = Path(key).resolve()
            if contracts not in p.parents:
                continue          # snekmate and other libraries are not ours to mutate
            tree.reaches.setdefault(p, set()).add(name)
            tree.typed.setdefault(p, mod)
    return tree
