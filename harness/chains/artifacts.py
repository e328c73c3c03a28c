"""Compiled contracts (ABI, bytecode, blueprint initcode), cached on disk.

The in-process backend deploys raw bytecode, so it needs no ape project;
ape compiles the same sources itself for the ape backend. Both use the
pip-installed vyper, so the bytecode is identical.
"""
import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

import snekmate
import vyper
from vyper.compiler import compile_from_file_input
from vyper.compiler.input_bundle import FilesystemInputBundle

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"
CACHE = ROOT / ".build" / "harness"
CONTRACT_NAMES = ("Engine", "Vault", "LiquidityPool", "OrderBook", "MockUSDC", "MockAggregator", "Lens")
FORMATS = ["abi", "bytecode", "blueprint_bytecode", "bytecode_runtime", "layout"]
CACHE_FORMAT = "2"   # what an artifact holds (runtime code and immutables too, for live/bytecode.py)


def _sources_digest() -> str:
    h = hashlib.sha256(f"{CACHE_FORMAT} {vyper.__version__}".encode())
    for path in sorted(CONTRACTS.rglob("*.vy*")):
        h.update(path.relative_to(CONTRACTS).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def source_path(name: str) -> Path:
    """A contract's source by name, wherever it sits under contracts/
    (deployables at the top, mocks/ apart), as ape finds it."""
    found = [p for p in CONTRACTS.rglob(f"{name}.vy") if "modules" not in p.relative_to(CONTRACTS).parts]
    if len(found) != 1:
        raise FileNotFoundError(f"contract {name}: {len(found)} sources named {name}.vy under {CONTRACTS}")
    return found[0]


def _compile(name: str) -> dict:
    bundle = FilesystemInputBundle([CONTRACTS, Path(list(snekmate.__path__)[0]).parent])
    file_input = bundle.load_file(source_path(name))
    out = compile_from_file_input(file_input, input_bundle=bundle, output_formats=FORMATS)
    return {
        "abi": out["abi"],
        "bytecode": out["bytecode"],
        "blueprint_bytecode": out["blueprint_bytecode"],
        "storage": _flatten(out["layout"].get("storage_layout", {})),
        "bytecode_runtime": out["bytecode_runtime"],
        "immutables": {k: [v["offset"], v["length"], v["type"]]
                       for k, v in _flatten(out["layout"].get("code_layout", {}), leaf="offset").items()},
    }


def _flatten(tree: dict, prefix: str = "", leaf: str = "slot") -> dict:
    out = {}
    for name, node in tree.items():
        if isinstance(node, dict) and leaf in node:
            out[prefix + name] = node["slot"] if leaf == "slot" else node
        elif isinstance(node, dict):
            out.update(_flatten(node, prefix + name + ".", leaf))
    return out


def storage_slot(contract: str, variable: str) -> int:
    """A storage variable's slot, from the compiler's layout: tests that
    write storage directly (tampering, unreachable guards) follow the
    contract instead of hard-coding numbers."""
    return artifact(contract)["storage"][variable]


@lru_cache(maxsize=None)
def artifact(name: str) -> dict:
    path = CACHE / f"{name}-{_sources_digest()}.json"
    if path.exists():
        return json.loads(path.read_text())
    art = _compile(name)
    CACHE.mkdir(parents=True, exist_ok=True)
    # Atomic: test runs and scripts may compile the same contract at once.
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(art))
    os.replace(tmp, path)
    return art
