"""Helpers for the deploy and audit tests: anvil nodes, a keystore, `ape run`."""
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from harness.chains.anvil import anvil_binary  # noqa: F401 - the conftest's
from harness.chains.rpc import Rpc

ROOT = Path(__file__).resolve().parents[2]
ALIAS = "isomargin_test_deployer"
APE_RUN_TIMEOUT = 240


@dataclass
class Anvil:
    proc: subprocess.Popen
    url: str
    rpc: Rpc
    w3: Web3

    def request(self, method, params=()):
        return self.rpc.request(method, list(params))

    def snapshot(self):
        return self.request("evm_snapshot")

    def revert(self, snap):
        if not self.request("evm_revert", [snap]):
            raise RuntimeError(f"anvil could not revert to snapshot {snap}")


@dataclass
class Keystore:
    alias: str
    address: str
    passphrase: str
    data_folder: Path

    def env(self, anvil: Anvil) -> dict:
        env = dict(os.environ)
        env.update({
            "APE_DATA_FOLDER": str(self.data_folder),
            f"APE_ACCOUNTS_{self.alias}_PASSPHRASE": self.passphrase,
            # ape-foundry connects to this running anvil instead of starting its own.
            "APE_FOUNDRY_HOST": anvil.url,
        })
        env.pop("ISOMARGIN_DEPLOY_CRASH_AT", None)
        return env


def fund(anvil: Anvil, address: str, eth: int = 100) -> None:
    anvil.request("anvil_setBalance", [address, hex(eth * 10**18)])


def ape_run(script: str, *args, anvil: Anvil, keystore: Keystore, env_extra=None, timeout=APE_RUN_TIMEOUT):
    """`ape run SCRIPT ARGS` against `anvil`, as a user would type it; returns the CompletedProcess."""
    ape = str(Path(sys.executable).parent / "ape")
    env = keystore.env(anvil)
    env.update(env_extra or {})
    cmd = [ape, "run", script, *args]
    if "--network" not in args and script == "deploy":
        cmd += ["--network", "ethereum:local:foundry"]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def output(proc) -> str:
    return proc.stdout + proc.stderr
