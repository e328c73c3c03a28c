"""Compiled contracts (ABI, bytecode, blueprint initcode, runtime code and
its immutables, storage layout), cached on disk: the harness's one compile.

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
from eth_utils import keccak
from vyper.compiler import compile_from_file_input
from vyper.compiler.input_bundle import FilesystemInputBundle

from .codec import Codec

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"
CACHE = ROOT / ".build" / "harness"
CONTRACT_NAMES = ("Engine", "Vault", "LiquidityPool", "MockUSDC", "MockAggregator", "Lens")
FORMATS = ["abi", "bytecode", "blueprint_bytecode", "bytecode_runtime", "layout"]
CACHE_FORMAT = "2"   # what an artifact holds; bumped when that changes


def snekmate_version() -> str:
    try:
        from importlib.metadata import version

        return version("snekmate")
    except Exception:  # a source checkout without metadata
        return "unknown"


def _sources_digest() -> str:
    h = hashlib.sha256(f"{CACHE_FORMAT} {vyper.__version__} {snekmate_version()}".encode())
    for path in sorted(CONTRACTS.rglob("*.vy*")):
        h.update(path.relative_to(CONTRACTS).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _compile(name: str) -> dict:
    bundle = FilesystemInputBundle([CONTRACTS, Path(list(snekmate.__path__)[0]).parent])
    file_input = bundle.load_file(CONTRACTS / f"{name}.vy")
    out = compile_from_file_input(file_input, input_bundle=bundle, output_formats=FORMATS)
    return {
        "abi": out["abi"],
        "bytecode": out["bytecode"],
        "blueprint_bytecode": out["blueprint_bytecode"],
        "bytecode_runtime": out["bytecode_runtime"],
        "storage": {k: v["slot"] for k, v in _flatten(out["layout"].get("storage_layout", {}), "slot").items()},
        "immutables": {k: [v["offset"], v["length"], v["type"]]
                       for k, v in _flatten(out["layout"].get("code_layout", {}), "offset").items()},
    }


def _flatten(tree: dict, leaf: str, prefix: str = "") -> dict:
    """A layout tree's entries (dicts holding `leaf`) by dotted name."""
    out = {}
    for name, node in tree.items():
        if isinstance(node, dict) and leaf in node:
            out[prefix + name] = node
        elif isinstance(node, dict):
            out.update(_flatten(node, leaf, prefix + name + "."))
    return out


def storage_slot(contract: str, variable: str) -> int:
    """A storage variable's slot, from the compiler's layout: tests that
    write storage directly (tampering, unreachable guards) follow the
    contract instead of hard-coding numbers."""
    return artifact(contract)["storage"][variable]


def hashmap_slot(slot: int, key: int) -> int:
    """The storage slot of `HashMap[key]` whose variable is at `slot`: keccak256(slot ++ key)."""
    return int.from_bytes(keccak(slot.to_bytes(32, "big") + key.to_bytes(32, "big")), "big")


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


@lru_cache(maxsize=None)
def codec(name: str) -> Codec:
    """The ABI codec of a contract (one per contract, shared by every client)."""
    return Codec(artifact(name)["abi"])


def initcode(name: str, args=()) -> bytes:
    """Creation code of `name` with its constructor arguments."""
    return bytes.fromhex(artifact(name)["bytecode"][2:]) + codec(name).encode_constructor(args)


def blueprint_initcode(name: str) -> bytes:
    """Creation code of an EIP-5202 blueprint of `name`."""
    return bytes.fromhex(artifact(name)["blueprint_bytecode"][2:])
