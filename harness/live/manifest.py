"""deployments/<network>.json: what was deployed where, by which transaction.

The manifest is written after every transaction, atomically, so a deploy
that dies half-way leaves a true record of what exists. Before a
transaction is broadcast its hash, nonce and (for a creation) its address
are recorded as `pending`: a crash between broadcast and record is then
resolved on the next run from the chain, never by sending a second copy.

It also records what the audit needs: the block to read events from, the
compiler and the sha256 of every source, the markets and their parameters.
"""
import json
import os
import time
from pathlib import Path
from typing import Optional

from .bytecode import compiler_info, source_hashes

FORMAT = 1


class ManifestError(Exception):
    pass


class Manifest:
    def __init__(self, path: Path, data: dict):
        self.path = Path(path)
        self.data = data

    # ---------------------------------------------------------------- files

    @classmethod
    def load(cls, path) -> "Manifest":
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise ManifestError(f"{path}: no such manifest") from None
        except json.JSONDecodeError as err:
            raise ManifestError(f"{path}: not valid JSON: {err}") from err
        if data.get("format") != FORMAT:
            raise ManifestError(f"{path}: manifest format {data.get('format')!r}, this tool reads {FORMAT}")
        return cls(path, data)

    @classmethod
    def new(cls, path, *, name: str, network_choice: str, chain_id: int, genesis_hash: str, deployer: str,
            config_path: str, config_sha256: str) -> "Manifest":
        return cls(path, {
            "format": FORMAT,
            "name": name,
            "network_choice": network_choice,
            "chain_id": chain_id,
            "genesis_hash": genesis_hash,
            "deployer": deployer,
            "status": "started",
            "config": {"path": config_path, "sha256": config_sha256},
            "compiler": compiler_info(),
            "sources": source_hashes(),
            "start_block": None,
            "contracts": {},
            "markets": {},
            "pending": None,
            "history": [],
        })

    def save(self) -> None:
        self.data["updated_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.data["addresses"] = {k: v["address"] for k, v in self.data["contracts"].items()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.data, indent=2) + "\n")
        os.replace(tmp, self.path)

    def set_aside(self) -> Path:
        """Move this manifest out of the way (for --fresh); return where it went."""
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        dest = self.path.with_name(f"{self.path.stem}.{stamp}.bak.json")
        os.replace(self.path, dest)
        return dest

    # ---------------------------------------------------------------- contents

    def not_this_chain(self, chain_id: int, genesis_hash: Optional[str]) -> Optional[str]:
        """Why a node with this chain id and genesis block is not the
        manifest's chain, or None if it is. Chain ids alone collide (every
        anvil is 31337, a fork shares its parent's), hence the genesis hash
        when the manifest has one."""
        want = self.data.get("chain_id")
        if want is not None and want != chain_id:
            return f"{self.path} is for chain {want}, the node is chain {chain_id}"
        genesis = self.data.get("genesis_hash")
        if genesis and genesis_hash and genesis.lower() != genesis_hash.lower():
            return (f"{self.path} is for chain {chain_id} with genesis block {genesis}, the node's genesis block "
                    f"is {genesis_hash}: another chain with the same id (a restarted devnet, or a fork)")
        return None

    @property
    def contracts(self) -> dict:
        return self.data["contracts"]

    @property
    def markets(self) -> dict:
        return self.data["markets"]

    @property
    def pending(self) -> Optional[dict]:
        return self.data.get("pending")

    def address(self, key: str) -> str:
        try:
            return self.contracts[key]["address"]
        except KeyError:
            raise ManifestError(f"{self.path}: no contract {key!r} in the manifest "
                                f"(status: {self.data.get('status')})") from None

    def has(self, key: str) -> bool:
        return key in self.contracts

    def record_contract(self, key: str, entry: dict) -> None:
        self.contracts[key] = entry
        block = entry.get("block")
        if block is not None and (self.data["start_block"] is None or block < self.data["start_block"]):
            self.data["start_block"] = block

    def record_market(self, symbol: str, entry: dict) -> None:
        self.markets[symbol] = entry

    def note(self, text: str) -> None:
        self.data.setdefault("history", []).append(
            {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "note": text})

    @property
    def engine_block(self) -> int:
        return self.contracts["engine"]["block"]

    def feeds(self) -> dict:
        return {sym: m["feed"] for sym, m in self.markets.items()}
