"""What each deployed contract's code must be, from this checkout's sources.

Vyper appends a contract's immutables after its runtime code, in the order
of the contract's code layout; a minimal proxy from create_minimal_proxy_to
is the 45-byte EIP-1167 stub around its implementation's address. So a
deployed contract's code is checked exactly: the compiled runtime, then an
immutables section of the compiled size whose address-valued entries must
be the addresses the deployment says they are.
"""
import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Dict, Optional

import snekmate
import vyper
from eth_abi import encode
from eth_utils import to_checksum_address
from vyper.compiler import compile_from_file_input
from vyper.compiler.input_bundle import FilesystemInputBundle

from ..chains.artifacts import CACHE, CONTRACTS, ROOT

EIP1167_PREFIX = bytes.fromhex("363d3d373d3d3d363d73")
EIP1167_SUFFIX = bytes.fromhex("5af43d82803e903d91602b57fd5bf3")


def proxy_code(implementation: str) -> bytes:
    """Runtime code of Vyper's create_minimal_proxy_to(implementation)."""
    return EIP1167_PREFIX + bytes.fromhex(implementation[2:]) + EIP1167_SUFFIX


def proxy_target(code: bytes) -> Optional[str]:
    """The implementation a minimal proxy delegates to; None if `code` is no such proxy."""
    if len(code) == 45 and code.startswith(EIP1167_PREFIX) and code.endswith(EIP1167_SUFFIX):
        return to_checksum_address(code[10:30])
    return None


def source_files() -> list:
    # What a deployment is compiled from: the contracts and their interfaces
    # (test-only contracts in subfolders are not deployed).
    return sorted([*CONTRACTS.glob("*.vy"), *CONTRACTS.glob("interfaces/*.vyi")])


def source_hashes() -> Dict[str, str]:
    """sha256 of every contract source (interfaces too), by path from the repo root."""
    return {p.relative_to(ROOT).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in source_files()}


def compiler_info() -> dict:
    from vyper.evm.opcodes import DEFAULT_EVM_VERSION

    # harness/chains/artifacts.py and ape-vyper both compile with vyper's default target.
    return {"vyper": vyper.__version__, "snekmate": _snekmate_version(), "evm_version": DEFAULT_EVM_VERSION}


def _snekmate_version() -> str:
    try:
        from importlib.metadata import version

        return version("snekmate")
    except Exception:  # a source checkout without metadata
        return "unknown"


def _digest() -> str:
    h = hashlib.sha256(f"{vyper.__version__} {_snekmate_version()}".encode())
    for path, digest in source_hashes().items():
        h.update(path.encode())
        h.update(digest.encode())
    return h.hexdigest()[:16]


def _flatten_layout(tree: dict, prefix: str = "") -> Dict[str, dict]:
    out = {}
    for name, node in tree.items():
        if isinstance(node, dict) and "offset" in node and "length" in node:
            out[prefix + name] = node
        elif isinstance(node, dict):
            out.update(_flatten_layout(node, prefix + name + "."))
    return out


@lru_cache(maxsize=None)
def runtime(name: str) -> dict:
    """{'code': runtime bytes, 'immutables': {name: (offset, length, type)}, 'immutables_size': n}."""
    path = CACHE / f"{name}-runtime-{_digest()}.json"
    if path.exists():
        data = json.loads(path.read_text())
    else:
        bundle = FilesystemInputBundle([CONTRACTS, Path(list(snekmate.__path__)[0]).parent])
        out = compile_from_file_input(bundle.load_file(CONTRACTS / f"{name}.vy"), input_bundle=bundle,
                                      output_formats=["bytecode_runtime", "layout"])
        flat = _flatten_layout(out["layout"].get("code_layout", {}))
        data = {
            "code": out["bytecode_runtime"],
            "immutables": {k: [v["offset"], v["length"], v["type"]] for k, v in flat.items()},
        }
        CACHE.mkdir(parents=True, exist_ok=True)
        # Atomic: test runs and scripts may compile the same contract at once.
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)
    imm = {k: tuple(v) for k, v in data["immutables"].items()}
    size = max((o + n for o, n, _ in imm.values()), default=0)
    return {"code": bytes.fromhex(data["code"][2:]), "immutables": imm, "immutables_size": size}


def code_hash(name: str) -> str:
    return "0x" + hashlib.sha256(runtime(name)["code"]).hexdigest()


def check_code(code: bytes, name: str, addresses: Optional[Dict[str, str]] = None) -> list:
    """Why `code` is not `name` compiled here with these address immutables; [] if it is.

    `addresses` maps immutable names (as in the code layout, e.g. "ENGINE"
    or "erc4626.asset") to the address each must hold.
    """
    rt = runtime(name)
    expected = rt["code"]
    if not code:
        return ["no code at this address"]
    if proxy_target(code) is not None and name != "proxy":
        return [f"is a minimal proxy of {proxy_target(code)}, not {name}"]
    if code[:len(expected)] != expected:
        return [f"runtime code differs from {name} compiled from this checkout"]
    problems = []
    data = code[len(expected):]
    if len(data) != rt["immutables_size"]:
        problems.append(f"immutables section is {len(data)} bytes, {name} has {rt['immutables_size']}")
        return problems
    for imm, want in (addresses or {}).items():
        offset, length, _ = rt["immutables"][imm]
        got = data[offset:offset + length]
        if got != encode(["address"], [want]):
            problems.append(f"immutable {imm} is {to_checksum_address(got[-20:])}, expected {to_checksum_address(want)}")
    return problems
