"""`ape run audit` on a deployment after trading activity: clean, then after
each kind of tampering with the chain, which must be reported pointing at
the right position (or contract), with a non-zero exit code.

The deployment and its activity are made once; every test starts from an
anvil snapshot of that state and tampers with it as an attacker (or a
bug) would: storage written outside the contract's rules, tokens sent
straight into a vault or the pool, a vault's code swapped for a proxy of
another implementation, the implementation's own code replaced.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from web3.logs import DISCARD

from harness.chains.artifacts import artifact, storage_slot
from harness.chains.contracts import hashmap_slot
from harness.chains.rpc import Rpc, RpcError
from harness.live.audit import Auditor
from harness.live.bytecode import proxy_code
from harness.live.manifest import Manifest

from . import activity
from .helpers import ROOT, ape_run, fund, output

# Engine storage slots from the compiler's layout; a HashMap[k] lives at
# keccak256(slot ++ k).
POS_WORD1 = storage_slot("Engine", "positions.pos_word1")          # size | collateral << 128
MARKET_RISK = storage_slot("Engine", "markets.market_risk")      # packed; staleness at bits 128..159
USDC = 10**6


@pytest.fixture(scope="module")
def world(start_anvil, keystore, tmp_path_factory):
    anvil = start_anvil()
    fund(anvil, keystore.address)
    manifest = tmp_path_factory.mktemp("audit") / "local.json"
    run = ape_run("deploy", "--account", keystore.alias, "--manifest", str(manifest), "--yes",
                  anvil=anvil, keystore=keystore)
    assert run.returncode == 0, output(run)
    played = activity.run(anvil.url, manifest)
    return {"anvil": anvil, "manifest": manifest, "played": played, "snapshot": [anvil.snapshot()],
            "m": json.loads(manifest.read_text())}


@pytest.fixture
def chain(world):
    """The post-activity state, fresh for each test (anvil spends a snapshot on revert)."""
    anvil = world["anvil"]
    anvil.revert(world["snapshot"][0])
    world["snapshot"][0] = anvil.snapshot()
    return world


def audit(world, **kwargs):
    return Auditor(world["anvil"].rpc, Manifest.load(world["manifest"]), **kwargs).run()


def send(world, contract, address, fn, args, sender):
    w3 = world["anvil"].w3
    c = w3.eth.contract(address=address, abi=artifact(contract)["abi"])
    tx = getattr(c.functions, fn)(*args).transact({"from": sender})
    receipt = w3.eth.wait_for_transaction_receipt(tx)
    assert receipt.status == 1
    return receipt


def subjects(report):
    return {d.subject for d in report.discrepancies}


# ---------------------------------------------------------------- clean

def test_clean_deployment_after_activity_audits_ok(chain, keystore):
    run = ape_run("audit", str(chain["manifest"]), "--network", "ethereum:local:foundry", anvil=chain["anvil"],
                  keystore=keystore)
    assert run.returncode == 0, output(run)
    assert "OK: the chain's state is what its events say" in run.stdout
    report = audit(chain)
    assert report.ok, report.render()
    s = report.stats
    # The activity reached every kind of action the replay knows.
    # Pool actions: two deposits and two redeems (request + execution each), one request cancelled.
    # Order actions: 13 requests; 10 executed, 1 cancelled by the engine, 1 by its owner, 1 expired and cleared.
    assert s["engine_actions"] >= 12 and s["pool_actions"] == 10 and s["share_transfers"] == 1
    assert s["order_actions"] == 26
    assert s["open_positions"] == 3 and s["slots"] == 4


def test_small_log_windows_give_the_same_verdict(chain):
    report = audit(chain, max_range=3, max_topics=2)
    assert report.ok, report.render()
    assert report.stats["log_requests"] > 3 * (chain["anvil"].w3.eth.block_number // 3)


def test_a_node_with_log_limits_is_read_in_narrower_windows(chain):
    """An RPC that refuses eth_getLogs over more than 8 blocks, as public ones do."""
    inner = chain["anvil"].rpc

    def request(method, params):
        if method == "eth_getLogs":
            f = params[0]
            if int(f["toBlock"], 16) - int(f["fromBlock"], 16) + 1 > 8:
                raise RpcError("query exceeds max block range 8")
        return inner.request(method, params)

    report = Auditor(Rpc(request), Manifest.load(chain["manifest"]), max_range=1_000).run()
    assert report.ok, report.render()
    assert any("smaller ranges" in n for n in report.notes)


def test_the_manifest_must_match_the_chain(chain, start_anvil):
    other = start_anvil()
    report = Auditor(other.rpc, Manifest.load(chain["manifest"])).run()
    assert not report.ok
    assert report.discrepancies[0].kind == "chain"


def test_no_node_and_an_unknown_network_are_one_line_and_exit_2(chain, keystore, tmp_path):
    """Issue 10: with no node, ape quietly started a fresh one and the user
    read "not the chain"; an unknown network was a 56-line traceback."""
    env = keystore.env(chain["anvil"])
    del env["APE_FOUNDRY_HOST"]                     # the manifest's ethereum:local:foundry, nothing answering
    ape = str(Path(sys.executable).parent / "ape")
    for extra, said in (([], "ape started a fresh foundry node for this command"),
                        (["--network", "ethereum:nosuch"], "cannot connect to ethereum:nosuch")):
        run = subprocess.run([ape, "run", "audit", str(chain["manifest"]), *extra], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
        assert run.returncode == 2, output(run)
        lines = [x for x in run.stderr.splitlines() if x.startswith("audit:")]
        assert len(lines) == 1 and said in lines[0], output(run)
        assert "Traceback" not in output(run), output(run)


# ---------------------------------------------------------------- tampering

def test_position_storage_written_directly(chain, keystore):
    pid = chain["played"]["open"][0]
    anvil, engine = chain["anvil"], chain["m"]["addresses"]["engine"]
    word = hashmap_slot(POS_WORD1, pid >> 32)
    value = anvil.rpc.storage(engine, word)
    collateral = value >> 128
    anvil.request("anvil_setStorageAt", [engine, hex(word), "0x%064x" % ((value & (2**128 - 1))
                                                                         | ((collateral + 7 * USDC) << 128))])
    report = audit(chain)
    assert not report.ok
    assert subjects(report) == {f"position {pid}"}, report.render()
    (state,) = [d for d in report.discrepancies if d.kind == "state"]
    assert (state.field, state.model, state.chain) == ("collateral", collateral, collateral + 7 * USDC)
    assert "no event explains it" in state.where and "Engine.CollateralAdded" in state.where
    assert any(d.kind == "invariant" for d in report.for_position(pid))

    run = ape_run("audit", str(chain["manifest"]), "--network", "ethereum:local:foundry", "--quiet",
                  anvil=anvil, keystore=keystore)
    assert run.returncode == 1, output(run)
    assert f"position {pid}" in run.stdout and "collateral: model" in run.stdout


def test_tampered_position_then_traded_points_at_the_event(chain):
    """Storage written, then the owner acts on the position: the event's
    figures no longer follow from the model's, and the report names it."""
    pid = chain["played"]["open"][1]
    owner = chain["played"]["owners"][pid]
    anvil, engine = chain["anvil"], chain["m"]["addresses"]["engine"]
    word = hashmap_slot(POS_WORD1, pid >> 32)
    value = anvil.rpc.storage(engine, word)
    # One unit less, not more: the engine subtracts the stored collateral from
    # its side's exposure sum, which holds only the untampered amount (more
    # would underflow it and the owner's call would revert without a reason).
    anvil.request("anvil_setStorageAt", [engine, hex(word), "0x%064x" % (value - (1 << 128))])
    receipt = send(chain, "Engine", engine, "add_collateral", [pid, 5 * USDC], owner)
    report = audit(chain)
    replay = [d for d in report.for_position(pid) if d.kind == "replay"]
    assert replay, report.render()
    assert replay[0].field == "collateral" and replay[0].chain == replay[0].model - 1
    assert replay[0].event["event"] == "CollateralAdded"
    assert replay[0].event["tx"] == receipt.transactionHash.to_0x_hex()
    assert replay[0].event["block"] == receipt.blockNumber
    assert f"position {pid}" in subjects(report)


def test_tokens_sent_straight_into_a_vault(chain):
    """Issue 9: a donation is reported as one, not as a discrepancy (a
    1-wei donation used to fail the audit for ever)."""
    pid = chain["played"]["open"][2]
    d = activity.Devnet(chain["anvil"].url, chain["manifest"])
    vault = d.vault_of(pid)
    donor = chain["played"]["traders"][0]
    receipt = send(chain, "MockUSDC", d.token.address, "transfer", [vault, 123 * USDC], donor)
    report = audit(chain)
    assert report.ok, report.render()
    (gift,) = report.donations
    assert (gift.subject, gift.address, gift.sender, gift.amount) == (f"position {pid}", vault, donor, 123 * USDC)
    assert gift.tx == receipt.transactionHash.to_0x_hex() and gift.block == receipt.blockNumber
    assert "donations 1" in report.render() and "123.000000 USDC" in report.render()


def test_a_donation_swept_at_the_exit_is_no_discrepancy(chain):
    """Issue 9: the close sweeps what was sent straight into its vault to
    the pool (DonationSwept); the audit reports the donation, and the
    vault's emptying, the model's too, as no discrepancy."""
    pid = chain["played"]["open"][2]
    owner = chain["played"]["owners"][pid]
    d = activity.Devnet(chain["anvil"].url, chain["manifest"])
    vault = d.vault_of(pid)
    donor = chain["played"]["traders"][0]
    send(chain, "MockUSDC", d.token.address, "transfer", [vault, 7 * USDC], donor)
    is_long = d.engine.functions.position(pid).call()[6]
    receipt = d.trade(d.orders.functions.request_close(pid, 0 if is_long else 2**128 - 1), owner, donor)
    (swept,) = d.engine.events.DonationSwept().process_receipt(receipt, errors=DISCARD)
    assert (swept.args.vault, swept.args.amount) == (vault, 7 * USDC)
    assert d.token.functions.balanceOf(vault).call() == 0
    report = audit(chain)
    assert report.ok, report.render()
    assert [(g.address, g.amount) for g in report.donations] == [(vault, 7 * USDC)]


def test_tokens_sent_into_a_free_vault_slot_and_the_pool(chain):
    d = activity.Devnet(chain["anvil"].url, chain["manifest"])
    free = [s for s in d.lens.functions.slots(d.engine.address, 1, 100).call() if not s[3]]
    assert len(free) == 1
    slot, vault = free[0][1], free[0][2]
    donor = chain["played"]["traders"][0]
    send(chain, "MockUSDC", d.token.address, "transfer", [vault, 5 * USDC], donor)
    send(chain, "MockUSDC", d.token.address, "transfer", [d.pool.address, 9 * USDC], donor)
    report = audit(chain)
    # The pool's 9 USDC are its LPs' now: the model's pool holds them too,
    # so its assets and every share's value agree with the chain's.
    assert report.ok, report.render()
    assert [(g.subject, g.amount) for g in report.donations] == [(f"vault slot {slot}", 5 * USDC),
                                                                 ("pool", 9 * USDC)]


def test_vault_swapped_for_a_proxy_of_another_implementation(chain):
    pid = chain["played"]["open"][0]
    anvil = chain["anvil"]
    w3 = anvil.w3
    d = activity.Devnet(anvil.url, chain["manifest"])
    attacker = w3.eth.accounts[9]
    rogue = w3.eth.contract(abi=artifact("Vault")["abi"], bytecode=artifact("Vault")["bytecode"])
    rogue_impl = w3.eth.wait_for_transaction_receipt(
        rogue.constructor(attacker, d.token.address).transact({"from": attacker})).contractAddress
    vault = d.vault_of(pid)
    anvil.request("anvil_setCode", [vault, "0x" + proxy_code(rogue_impl).hex()])
    report = audit(chain)
    (code,) = [x for x in report.discrepancies if x.kind == "code"]
    assert code.position_id == pid and code.address == vault
    assert f"minimal proxy of {rogue_impl}" in code.field
    assert subjects(report) == {f"position {pid}"}, report.render()


def test_implementation_code_replaced(chain):
    anvil = chain["anvil"]
    impl = chain["m"]["addresses"]["vault_implementation"]
    lens_code = anvil.request("eth_getCode", [chain["m"]["addresses"]["lens"], "latest"])
    anvil.request("anvil_setCode", [impl, lens_code])
    report = audit(chain)
    assert {x.kind for x in report.discrepancies} == {"code"}
    (code,) = [x for x in report.discrepancies if x.subject.startswith("vault implementation")]
    assert impl in code.field and "differs from Vault" in code.field
    # Every vault delegates to it: each position's vault stops answering as a Vault.
    assert {f"position {pid}" for pid in chain["played"]["open"]} <= subjects(report)


def test_the_timelock_s_code_replaced(chain):
    """The engine's owner is the timelock: other code there could make owner
    changes with no delay, and the audit says so."""
    anvil = chain["anvil"]
    timelock = chain["m"]["addresses"]["timelock"]
    assert anvil.rpc.call(chain["m"]["addresses"]["engine"], "Engine", "owner") == timelock
    lens_code = anvil.request("eth_getCode", [chain["m"]["addresses"]["lens"], "latest"])
    anvil.request("anvil_setCode", [timelock, lens_code])
    report = audit(chain)
    (code,) = report.discrepancies
    assert (code.kind, code.subject) == ("code", "timelock")
    assert timelock in code.field and "differs from Timelock" in code.field


def test_market_parameters_written_directly(chain):
    anvil, engine = chain["anvil"], chain["m"]["addresses"]["engine"]
    market_id = chain["m"]["markets"]["BTC"]["market_id"]
    word = hashmap_slot(MARKET_RISK, market_id)
    packed = anvil.rpc.storage(engine, word)
    packed = (packed & ~((2**32 - 1) << 128)) | (999_999 << 128)
    anvil.request("anvil_setStorageAt", [engine, hex(word), "0x%064x" % packed])
    report = audit(chain)
    (d,) = report.discrepancies
    assert (d.subject, d.field, d.chain) == (f"market {market_id}", "market_params.staleness", 999_999)


def test_an_event_the_model_cannot_reproduce_is_named(chain):
    """Tokens slipped into a vault and its position's collateral raised to
    match (a consistent-looking forgery); the owner then withdraws more than
    the model says the position ever held. The chain pays; the model
    reverts, and that event is the divergence point."""
    pid = chain["played"]["open"][1]
    owner = chain["played"]["owners"][pid]
    anvil, engine = chain["anvil"], chain["m"]["addresses"]["engine"]
    d = activity.Devnet(anvil.url, chain["manifest"])
    collateral = d.engine.functions.position(pid).call()[8]
    send(chain, "MockUSDC", d.token.address, "transfer", [d.vault_of(pid), 5_000 * USDC],
         chain["played"]["traders"][0])
    word = hashmap_slot(POS_WORD1, pid >> 32)
    anvil.request("anvil_setStorageAt", [engine, hex(word), "0x%064x" % (anvil.rpc.storage(engine, word)
                                                                         + (5_000 * USDC << 128))])
    anvil.request("evm_increaseTime", [60])
    receipt = send(chain, "Engine", engine, "remove_collateral", [pid, collateral + 100 * USDC], owner)
    report = audit(chain)
    replay = [x for x in report.discrepancies if x.kind == "replay"]
    assert len(replay) == 1, report.render()
    assert replay[0].position_id == pid and replay[0].field == "outcome"
    assert replay[0].model == "revert 'engine: amount exceeds collateral'" and replay[0].chain == "success"
    assert replay[0].event["event"] == "CollateralRemoved"
    assert replay[0].event["tx"] == receipt.transactionHash.to_0x_hex()
    # Nothing else in that transaction is blamed on anyone else.
    assert subjects(report) == {f"position {pid}"}, report.render()


# ---------------------------------------------------------------- the standalone keeper on the same devnet

def test_ape_run_keeper_says_why_an_order_waits_then_executes_it(chain, keystore):
    """`ape run keeper` against the manifest: a pending close waits for a
    price round after its request (said in words), then executes."""
    d = activity.Devnet(chain["anvil"].url, chain["manifest"])
    pid = chain["played"]["open"][0]
    owner = chain["played"]["owners"][pid]
    oid = d.request(d.orders.functions.request_close(pid, activity.ANY_BUY), owner)
    args = ["--manifest", str(chain["manifest"]), "--test-account", "9", "--once", "--network",
            "ethereum:local:foundry"]
    first = ape_run("keeper", *args, anvil=chain["anvil"], keystore=keystore)
    assert first.returncode == 0, output(first)
    assert f"order {oid} waits: no price round after its request yet" in first.stderr + first.stdout, output(first)
    assert d.orders.functions.orders(oid).call()[0] == owner            # still pending
    d.wait(1)
    for feed in d.feeds.values():
        d.send(feed.functions.set_answer(feed.functions.latestAnswer().call()), d.deployer)
    second = ape_run("keeper", *args, "--json", anvil=chain["anvil"], keystore=keystore)
    assert second.returncode == 0, output(second)
    summary = json.loads(second.stdout[second.stdout.index("{"):])
    assert summary["executions"]["executed"] == 1 and summary["executions"]["waiting_now"] == {}
    assert not d.engine.functions.position(pid).call()[3]
