"""Fixtures for the deploy and audit tests: real anvil nodes and a real keystore.

Each anvil is a subprocess of this test run on a free port, started with a
time limit and killed at teardown. The deployer is an ape keystore account
in a temporary APE_DATA_FOLDER, encrypted with a random passphrase that
only the environment of the `ape run` subprocesses carries; its key is
made up here and never written anywhere but that encrypted file.
"""
import json
import secrets
import subprocess

import pytest
from eth_account import Account
from web3 import HTTPProvider, Web3

from harness.chains.anvil import start_anvil as _start_node

from .helpers import ALIAS, Anvil, Keystore, anvil_binary as _find_anvil

ANVIL_START_TIMEOUT = 20


@pytest.fixture(scope="session")
def anvil_binary():
    binary = _find_anvil()
    if binary is None:
        pytest.skip("anvil not found: run ./isomargin setup (installs it from npm)")
    return binary


@pytest.fixture(scope="session")
def start_anvil(anvil_binary):
    """A factory: start_anvil(*extra_args) -> Anvil; every node is killed at the session's end."""
    started = []

    def start(*args) -> Anvil:
        node = _start_node(*args, binary=anvil_binary, timeout=ANVIL_START_TIMEOUT)
        started.append(node.proc)
        return Anvil(node.proc, node.url, node.rpc, Web3(HTTPProvider(node.url, request_kwargs={"timeout": 30})))

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


@pytest.fixture(scope="session")
def keystore(tmp_path_factory) -> Keystore:
    folder = tmp_path_factory.mktemp("ape-data")
    (folder / "accounts").mkdir()
    account = Account.create()
    passphrase = secrets.token_urlsafe(16)
    (folder / "accounts" / f"{ALIAS}.json").write_text(json.dumps(Account.encrypt(account.key, passphrase)))
    return Keystore(ALIAS, account.address, passphrase, folder)
