"""`ape run keeper` as an operator leaves it running: unattended, from a
keystore account, against a real anvil deployment.

The world: a deployment (`ape run deploy`), an LP, and three positions,
then an hour later ETH drops 10% and BTC's feed is left without a round:
an ETH long is liquidatable, an ETH short is healthy, a BTC long sits in a
market whose price the engine would refuse as stale. Every test starts
from an anvil snapshot of that state.
"""
import json
import signal
import subprocess
import time

import pytest
from web3.logs import DISCARD

from . import activity
from .helpers import Lines, ape_run, ape_start, fund, output

USDC, PRICE = activity.USDC, activity.PRICE
NETWORK = ("--network", "ethereum:local:foundry")
EXIT_CANNOT_SIGN = 3


@pytest.fixture(scope="module")
def world(start_anvil, keystore, tmp_path_factory):
    anvil = start_anvil()
    fund(anvil, keystore.address)
    manifest = tmp_path_factory.mktemp("keeper") / "local.json"
    run = ape_run("deploy", "--account", keystore.alias, "--manifest", str(manifest), "--yes",
                  anvil=anvil, keystore=keystore)
    assert run.returncode == 0, output(run)
    d = activity.Devnet(anvil.url, manifest)
    t, p = d.token.functions, d.pool.functions
    lp, t1, t2, t3, executor = d.accounts[1:6]
    for who in (lp, t1, t2, t3):
        d.send(t.mint(who, 2_000_000 * USDC), d.deployer)
        for spender in (d.pool, d.orders, d.engine):
            d.send(t.approve(spender.address, activity.MAX), who)
    d.settle(d.send(p.requestDeposit(1_000_000 * USDC, lp, lp), lp), lp)
    eth_long = d.open(t1, "ETH", True, 50_000 * USDC, 6_000 * USDC, executor)
    eth_short = d.open(t2, "ETH", False, 20_000 * USDC, 2_500 * USDC, executor)
    btc_long = d.open(t3, "BTC", True, 100_000 * USDC, 3_000 * USDC, executor)
    d.wait(3_601)                       # past BTC's staleness: its feed gets no round
    d.set_price("ETH", 1_800 * PRICE)
    return {"anvil": anvil, "manifest": manifest, "devnet": d, "snapshot": [anvil.snapshot()],
            "eth_long": eth_long, "eth_short": eth_short, "btc_long": btc_long}


@pytest.fixture
def chain(world):
    anvil = world["anvil"]
    anvil.revert(world["snapshot"][0])
    world["snapshot"][0] = anvil.snapshot()
    return world


def keeper(world, keystore, *args, env_extra=None):
    return ape_run("keeper", "--manifest", str(world["manifest"]), *args, *NETWORK, anvil=world["anvil"],
                   keystore=keystore, env_extra=env_extra)


def liquidations(world):
    d = world["devnet"]
    logs = d.w3.eth.get_logs({"address": d.engine.address, "fromBlock": 0})
    return [ev.args for ev in d.engine.events.PositionLiquidated().process_receipt({"logs": logs}, errors=DISCARD)]


def keeper_lines(proc):
    return [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("keeper:")]


# ---------------------------------------------------------------- signing unattended

def test_keeper_signs_unattended_with_the_passphrase_from_the_environment(chain, keystore):
    """No terminal (stdin is /dev/null), the passphrase only in
    APE_ACCOUNTS_<alias>_PASSPHRASE: the keeper liquidates from the keystore account."""
    run = keeper(chain, keystore, "--account", keystore.alias, "--once")
    assert run.returncode == 0, output(run)
    assert "Aborted!" not in output(run) and "Sign:" not in output(run), output(run)
    (ev,) = liquidations(chain)
    assert ev.position_id == chain["eth_long"] and ev.liquidator == keystore.address
    assert not chain["devnet"].engine.functions.position(chain["eth_long"]).call()[3]


@pytest.mark.parametrize("passphrase, words", [
    ("not-the-passphrase", "wrong passphrase for account"),
    ("", "is locked and no passphrase was given"),
])
def test_keeper_that_cannot_sign_says_so_in_one_line_and_exits_3(chain, keystore, passphrase, words):
    variable = f"APE_ACCOUNTS_{keystore.alias}_PASSPHRASE"
    run = keeper(chain, keystore, "--account", keystore.alias, "--once", env_extra={variable: passphrase})
    assert run.returncode == EXIT_CANNOT_SIGN, output(run)
    text = output(run)
    assert "Traceback" not in text and "Aborted!" not in text, text
    (line,) = keeper_lines(run)
    assert words in line and variable in line, text
    # It stopped before any round: nothing counted, nothing sent.
    assert "round 1" not in text and "rpc" not in text.lower(), text
    assert liquidations(chain) == []


# ---------------------------------------------------------------- what this run did, and why not

def test_keeper_says_why_each_position_was_not_liquidated(chain, keystore):
    run = keeper(chain, keystore, "--account", keystore.alias, "--once")
    assert run.returncode == 0, output(run)
    out = run.stdout
    assert "this run: liquidated 1 (rewards 500.00 USDC), attempts 1" in out, output(run)
    assert f"position {chain['eth_short']}: healthy: equity is above maintenance margin" in out, output(run)
    assert f"position {chain['btc_long']}: oracle stale: the market's last price round is older" in out, output(run)
    # The round's log says the same as it happens.
    assert f"round 1: not liquidated: position {chain['btc_long']}: oracle stale" in run.stderr, output(run)


def test_a_restarted_keeper_reports_this_run_apart_from_earlier_ones(chain, keystore):
    first = keeper(chain, keystore, "--account", keystore.alias, "--once")
    assert first.returncode == 0, output(first)
    second = keeper(chain, keystore, "--account", keystore.alias, "--once")
    assert second.returncode == 0, output(second)
    assert "this run: liquidated 0 (rewards 0.00 USDC), attempts 0" in second.stdout, output(second)
    assert ("before this run (the engine's events): liquidated 1 by this account (rewards 500.00 USDC)"
            in second.stdout), output(second)
    as_json = keeper(chain, keystore, "--account", keystore.alias, "--once", "--json")
    summary = json.loads(as_json.stdout[as_json.stdout.index("{"):])
    assert (summary["liquidated"], summary["adopted"], summary["rewards"]) == (0, 0, 0)
    assert summary["before_this_run"] == {"liquidated": 1, "rewards": 500 * USDC}
    assert summary["not_liquidated_now"] == {
        "healthy: equity is above maintenance margin at the current price": [chain["eth_short"]],
        "oracle stale: the market's last price round is older than its staleness limit; "
        "liquidations resume with the feed's next round, or at the last good price once the feed has been "
        "unusable for 24 h": [chain["btc_long"]],
    }


# ---------------------------------------------------------------- the manifest's chain

def _manifest_copy(world, tmp_path, **changes):
    data = json.loads(world["manifest"].read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    path = tmp_path / "local.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("changes, words", [
    ({"chain_id": 1}, "is for chain 1, the node is chain 31337"),
    ({"genesis_hash": "0x" + "ab" * 32}, "the node's genesis block is 0x"),
])
def test_keeper_on_another_chain_than_the_manifest_s_says_so_and_exits_4(chain, keystore, tmp_path, changes,
                                                                         words):
    manifest = _manifest_copy(chain, tmp_path, **changes)
    run = ape_run("keeper", "--manifest", str(manifest), "--account", keystore.alias, "--once", *NETWORK,
                  anvil=chain["anvil"], keystore=keystore)
    assert run.returncode == 4, output(run)
    (line,) = keeper_lines(run)
    assert line.startswith("keeper: not the manifest's chain: ") and words in line, output(run)
    assert "Traceback" not in output(run) and "round 1" not in output(run), output(run)
    assert liquidations(chain) == []


def test_a_manifest_without_a_genesis_hash_is_checked_by_chain_id_alone(chain, keystore, tmp_path):
    manifest = _manifest_copy(chain, tmp_path, genesis_hash=None)
    run = ape_run("keeper", "--manifest", str(manifest), "--account", keystore.alias, "--once", *NETWORK,
                  anvil=chain["anvil"], keystore=keystore)
    assert run.returncode == 0, output(run)
    assert [ev.position_id for ev in liquidations(chain)] == [chain["eth_long"]]


# ---------------------------------------------------------------- reward versus gas

def test_a_reward_below_its_gas_cost_is_held_back_and_said(chain, keystore):
    """At an absurd coin price every liquidation costs more than it pays:
    the keeper simulates it on the node, sends nothing and says why."""
    run = keeper(chain, keystore, "--account", keystore.alias, "--once", "--coin-price", "1e18", "--json")
    assert run.returncode == 0, output(run)
    summary = json.loads(run.stdout[run.stdout.index("{"):])
    (words,) = [w for w, ids in summary["not_liquidated_now"].items() if ids == [chain["eth_long"]]]
    assert words.startswith("reward below gas cost: the liquidation, simulated on the node"), output(run)
    assert (summary["held_back"], summary["attempts"], summary["gas_spent"]) == (1, 0, 0)
    assert liquidations(chain) == []
    # At a real price the same position pays for itself, and is liquidated.
    run = keeper(chain, keystore, "--account", keystore.alias, "--once", "--coin-price", "3000")
    assert run.returncode == 0, output(run)
    assert "this run: liquidated 1" in run.stdout, output(run)


def test_the_reward_check_reads_the_engine_s_own_event_from_the_simulation(chain, keystore):
    from harness.chains.contracts import codec
    from harness.chains.rpc import Rpc
    from harness.keeper.profit import UNPROFITABLE, RewardCheck

    d, pid = chain["devnet"], chain["eth_long"]
    encode = codec("Engine")["liquidate"].encode
    check = RewardCheck(Rpc.http(chain["anvil"].url).request, d.engine.address, lambda p: encode([p]), 3000)
    assert check.refusal(pid, keystore.address) is None
    figures = check.last[pid]
    # 1% liquidation fee of the 50,000 USDC long, as the engine's event states it.
    assert figures["reward"] == 500 * USDC
    assert 100_000 < figures["gas"] < 300_000 and figures["gas_price"] > 0
    assert figures["cost"] == figures["gas"] * figures["gas_price"] * 3000 * USDC // 10**18
    assert RewardCheck(check.request, d.engine.address, check.encode, 10**18).refusal(pid, keystore.address) \
        == UNPROFITABLE
    assert d.engine.functions.position(pid).call()[3]           # a simulation sends nothing


# ---------------------------------------------------------------- running as a service

def start_keeper(world, keystore, *args):
    proc = ape_start("keeper", "--manifest", str(world["manifest"]), "--account", keystore.alias, *args, *NETWORK,
                     anvil=world["anvil"], keystore=keystore)
    return proc, Lines(proc.stderr)


def stop(proc, lines, signum=signal.SIGTERM, timeout=10):
    """Signal the keeper, and return (exit code, stdout, stderr) once it
    exits; a keeper still running after `timeout` seconds is killed and fails the test."""
    proc.send_signal(signum)
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"still running {timeout} s after {signum.name}:\n{lines.text()}")
    return code, proc.stdout.read(), lines.text()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_a_signal_stops_the_keeper_cleanly_with_its_summary(chain, keystore, signum):
    """Looping mode with a long interval: the signal arrives while it waits
    for its next round, and must end that wait at once, not after it."""
    proc, lines = start_keeper(chain, keystore, "--interval", "600")
    try:
        assert lines.wait_for("round 1: not liquidated", timeout=180), lines.text()
    except BaseException:
        proc.kill()
        raise
    code, out, err = stop(proc, lines, signum)
    assert code == 0, out + err
    assert "Traceback" not in err and "Aborted!" not in err, err
    assert f"keeper: stopped ({signum.name}) after 1 round(s)" in err, err
    assert "round 2" not in err, err
    # The round's work is in the summary: nothing was cut off.
    assert "this run: liquidated 1 (rewards 500.00 USDC), attempts 1" in out, out + err
    assert [ev.position_id for ev in liquidations(chain)] == [chain["eth_long"]]


# ---------------------------------------------------------------- metrics and health

def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    """(status, body) of a GET; an HTTP error status is an answer, not an exception."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def samples(text):
    """Prometheus text format -> {'name{labels}': value}, comments left out."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def test_metrics_and_health_endpoints_show_what_the_keeper_did(chain, keystore):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc, lines = start_keeper(chain, keystore, "--interval", "600", "--metrics-port", str(port),
                               "--health-max-age", "4")
    try:
        assert lines.wait_for(f"keeper: metrics on {base}/metrics", timeout=180), lines.text()
        # Serving before the first round ends: not healthy yet.
        status, body = get(f"{base}/health")
        assert lines.wait_for("orders and LP requests so far", timeout=120), lines.text()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            m = samples(get(f"{base}/metrics")[1])
            if m.get("isomargin_keeper_rounds_total") == 1:
                break
            time.sleep(0.2)
        after_round = get(f"{base}/health")
        time.sleep(5)
        stale = get(f"{base}/health")
    finally:
        code, out, err = stop(proc, lines)
    assert code == 0, out + err
    # Asked right after it starts serving, seconds before its first round can end.
    assert (status, body.strip()) == (503, "no round finished yet")
    assert m["isomargin_keeper_rounds_total"] == 1, m
    assert m["isomargin_keeper_liquidations_sent_total"] == 1, m
    assert m["isomargin_keeper_liquidations_succeeded_total"] == 1, m
    assert m["isomargin_keeper_liquidatable_positions"] == 1, m
    assert not [k for k in m if k.startswith("isomargin_keeper_liquidations_failed_total")], m
    assert abs(m["isomargin_keeper_last_round_timestamp_seconds"] - time.time()) < 60, m
    # anvil's clock was moved an hour ahead to age BTC's feed: the head is "in the future".
    assert m["isomargin_keeper_head_lag_seconds"] < -3_000, m
    assert after_round[0] == 200 and after_round[1].startswith("ok: last round finished"), after_round
    assert stale[0] == 503 and "over the limit of 4 s" in stale[1], stale
    assert "this run: liquidated 1" in out


def test_a_liquidation_held_back_is_counted_by_its_reason_and_not_as_sent(chain, keystore):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc, lines = start_keeper(chain, keystore, "--interval", "600", "--metrics-port", str(port),
                               "--coin-price", "1e18")
    try:
        assert lines.wait_for("orders and LP requests so far", timeout=180), lines.text()
        time.sleep(1)         # on_round comes after that line
        m = samples(get(f"{base}/metrics")[1])
    finally:
        code, out, err = stop(proc, lines)
    assert code == 0, out + err
    assert m['isomargin_keeper_liquidations_held_back_total{reason="reward below gas cost"}'] == 1, m
    assert m["isomargin_keeper_liquidations_sent_total"] == 0, m
    assert liquidations(chain) == []


# ---------------------------------------------------------------- the gas-price limit

def test_a_restart_sends_nothing_over_the_earlier_run_s_transaction_in_flight(chain, keystore):
    """Issue 10: a keeper stopped between the broadcast of a liquidation and
    its block (here: block production held, the earlier run's transaction in
    anvil's pool) is restarted. The new run must not sign another over it
    (same nonce: a replacement; the next: a second liquidation of the same
    position): it says why and sends nothing; after the block the earlier
    transaction stands as the one liquidation, and the next run goes on."""
    anvil, d = chain["anvil"], chain["devnet"]
    calldata = d.engine.encode_abi("liquidate", args=[chain["eth_long"]])
    anvil.request("evm_setAutomine", [False])
    try:
        anvil.request("anvil_impersonateAccount", [keystore.address])
        anvil.request("eth_sendTransaction", [{"from": keystore.address, "to": d.engine.address, "data": calldata,
                                               "gas": hex(1_000_000)}])
        anvil.request("anvil_stopImpersonatingAccount", [keystore.address])
        run = keeper(chain, keystore, "--account", keystore.alias, "--once", "--json")
        assert run.returncode == 0, output(run)
        (line,) = [x for x in run.stderr.splitlines() if "still pending" in x]
        assert line.startswith("round 1: 1 transaction(s) of this account still pending (nonce "), line
        assert line.endswith("nothing sent this round (1 liquidatable)"), line
        summary = json.loads(run.stdout[run.stdout.index("{"):])
        assert (summary["pending_tx_rounds"], summary["attempts"], summary["gas_spent"]) == (1, 0, 0), summary
        assert int(anvil.request("eth_getTransactionCount", [keystore.address, "pending"]), 16) == \
            int(anvil.request("eth_getTransactionCount", [keystore.address, "latest"]), 16) + 1   # only the first
    finally:
        anvil.request("evm_mine", [])
        anvil.request("evm_setAutomine", [True])
    assert [ev.position_id for ev in liquidations(chain)] == [chain["eth_long"]]
    run = keeper(chain, keystore, "--account", keystore.alias, "--once", "--json")
    assert run.returncode == 0, output(run)
    summary = json.loads(run.stdout[run.stdout.index("{"):])
    assert (summary["pending_tx_rounds"], summary["attempts"]) == (0, 0), summary
    assert "still pending" not in run.stderr, output(run)


def test_a_gas_price_above_the_limit_sends_nothing_and_says_why(chain, keystore):
    """Last in the file: the base fee set here is the next block's, and the
    second run's liquidation mines that block (the snapshot revert of the
    next test would otherwise have to undo anvil's pending base fee)."""
    anvil = chain["anvil"]
    anvil.request("anvil_setNextBlockBaseFeePerGas", [hex(100 * 10**9)])
    price = int(anvil.request("eth_gasPrice"), 16)
    assert price > 100 * 10**9 and price % 10**9 == 0, price     # the base fee and anvil's whole-gwei tip
    gwei = price // 10**9
    run = keeper(chain, keystore, "--account", keystore.alias, "--once", "--max-gas-price", "50", "--json")
    assert run.returncode == 0, output(run)
    (line,) = [x for x in run.stderr.splitlines() if "above the limit" in x]
    assert line == (f"round 1: gas price {gwei} gwei above the limit 50 gwei; "
                    f"nothing sent this round (1 liquidatable)"), output(run)
    summary = json.loads(run.stdout[run.stdout.index("{"):])
    assert (summary["gas_limited_rounds"], summary["attempts"], summary["gas_spent"]) == (1, 0, 0), summary
    assert summary["not_liquidated_now"][f"not sent: gas price {gwei} gwei above the limit 50 gwei"] \
        == [chain["eth_long"]]
    assert summary["executions"]["executed"] == 0
    assert liquidations(chain) == []
    # Under a limit above the price the same round liquidates, its transaction capped at that max fee.
    run = keeper(chain, keystore, "--account", keystore.alias, "--once", "--max-gas-price", "500")
    assert run.returncode == 0, output(run)
    assert "this run: liquidated 1" in run.stdout and "above the limit" not in run.stderr, output(run)
    assert [ev.position_id for ev in liquidations(chain)] == [chain["eth_long"]]
    (tx,) = chain["devnet"].w3.eth.get_block("latest", full_transactions=True)["transactions"]
    assert tx["to"] == chain["devnet"].engine.address and tx["maxFeePerGas"] == 500 * 10**9, tx
