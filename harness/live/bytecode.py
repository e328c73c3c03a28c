"""What each deployed contract's code must be, from this checkout's sources.

Vyper appends a contract's immutables after its runtime code, in the order
of the contract's code layout; a minimal proxy from create_minimal_proxy_to
is the 45-byte EIP-1167 stub around its implementation's address. So a
deployed contract's code is checked exactly: the compiled runtime, then an
immutables section of the compiled size whose address-valued entries must
be the addresses the deployment says they are.
"""
import hashlib
from functools import lru_cache
from typing import Dict, Optional

import vyper
from eth_abi import encode
from eth_utils import to_checksum_address

from ..chains.artifacts import CONTRACTS, ROOT, artifact

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
    # What a deployment is compiled from: the deployables, the modules they
    # are composed of, and their interfaces (mocks/ is never deployed to a
    # live network).
    return sorted([*CONTRACTS.glob("*.vy"), *CONTRACTS.glob("modules/*.vy"), *CONTRACTS.glob("interfaces/*.vyi")])


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


@lru_cache(maxsize=None)
def runtime(name: str) -> dict:
    """{'code': runtime bytes, 'immutables': {name: (offset, length, type)}, 'immutables_size': n}."""
    art = artifact(name)
    imm = {k: tuple(v) for k, v in art["immutables"].items()}
    size = max((o + n for o, n, _ in imm.values()), default=0)
    return {"code": bytes.fromhex(art["bytecode_runtime"][2:]), "immutables": imm, "immutables_size": size}


def expected_code(engine: str, token: str, pool: str, insurance: str, implementation: str, orders: str,
                  sequencer_feed: str, rules: str) -> Dict[str, tuple]:
    """Manifest key -> (contract, {immutable: address}) of what the engine's
    deployment must be: the deploy's verify and the audit check the same."""
    return {
        "engine": ("Engine", {"TOKEN": token, "POOL": pool, "INSURANCE": insurance,
                              "VAULT_IMPLEMENTATION": implementation, "ORDERS": orders, "RULES": rules}),
        "vault_implementation": ("Vault", {"ENGINE": engine, "TOKEN": token}),
        "pool": ("LiquidityPool", {"ENGINE": engine, "TOKEN": token, "asset": token}),
        # A wrong SEQUENCER would silently skip (or wrongly apply) the outage check.
        "orders": ("OrderBook", {"ENGINE": engine, "TOKEN": token, "SEQUENCER": sequencer_feed}),
        # The checks every market write passes: swapped code would lift the bounds.
        "rules": ("MarketRules", {}),
    }


def code_hash(name: str) -> str:
    return "0x" + hashlib.sha256(runtime(name)["code"]).hexdigest()


def check_code(code: bytes, name: str, addresses: Optional[Dict[str, str]] = None) -> list:
    """Why `code` is not `name` compiled here with these address immutables; [] if it is.

    `addresses` maps immutable names (as in the code layout, e.g. "ENGINE"
    or "asset") to the address each must hold.
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
