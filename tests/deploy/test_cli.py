"""`ape run position | health | positions | totals | set-price | console`
over a deployment, as an operator types them: each run's output against
the contracts' own views, and each user error as one line on stderr with
its documented exit code (harness/live/session.py).

The world is test_keeper.py's: a deployment, an LP, three positions,
then an hour later ETH at 1,800 (its long liquidatable, its short
healthy) and BTC's feed left stale. Every test starts from a snapshot.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.chains.anvil import free_port
from harness.live.session import EXIT_CANNOT_SIGN, EXIT_NO_NODE, EXIT_NOT_FOUND, EXIT_USAGE, EXIT_WRONG_CHAIN
from harness.live.views import units

from . import activity
from .helpers import ROOT, ape_run, fund, output

USDC, PRICE = activity.USDC, activity.PRICE
NETWORK = ("--network", "ethereum:local:foundry")


@pytest.fixture(scope="module")
def world(start_anvil, keystore, tmp_path_factory):
    anvil = start_anvil()
    fund(anvil, keystore.address)
    manifest = tmp_path_factory.mktemp("cli") / "local.json"
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
    d.wait(3_601)
    d.set_price("ETH", 1_800 * PRICE)
    return {"anvil": anvil, "manifest": manifest, "devnet": d, "snapshot": [anvil.snapshot()],
            "eth_long": eth_long, "eth_short": eth_short, "btc_long": btc_long}


@pytest.fixture
def chain(world):
    anvil = world["anvil"]
    anvil.revert(world["snapshot"][0])
    world["snapshot"][0] = anvil.snapshot()
    return world


def cli(world, keystore, script, *args, manifest=None, network=NETWORK, env_extra=None):
    manifest = world["manifest"] if manifest is None else manifest
    where = ("--manifest", str(manifest)) if manifest else ()
    return ape_run(script, *args, *where, *network, anvil=world["anvil"], keystore=keystore, env_extra=env_extra)


def one_error_line(run, prog: str, code: int) -> str:
    """The run failed with `code`, saying so in exactly one line on stderr
    (ape's own warnings aside), and no traceback."""
    text = output(run)
    assert run.returncode == code, text
    assert "Traceback" not in text and "Aborted!" not in text, text
    (line,) = [x for x in run.stderr.splitlines() if x.startswith(f"{prog}: ")]
    assert run.stdout.strip() == "", text
    return line


def manifest_copy(world, tmp_path, text=None, **changes):
    data = json.loads(world["manifest"].read_text())
    data.update(changes)
    path = tmp_path / "local.json"
    path.write_text(json.dumps(data) if text is None else text)
    return path


def tokens(d, value):
    return units(value, 6, d.token.functions.symbol().call())


# ---------------------------------------------------------------- position

def test_position_shows_the_engine_s_view_and_lens_health(chain, keystore):
    d, pid = chain["devnet"], chain["eth_long"]
    run = cli(chain, keystore, "position", str(pid))
    assert run.returncode == 0, output(run)
    view = d.engine.functions.position(pid).call()
    health = d.lens.functions.health(d.engine.address, pid).call()
    out = run.stdout
    assert out.startswith(f"position {pid} (slot 1, generation 1): open\n"), out
    assert "ETH (market 1), long" in out and view[4] in out, out
    assert f"size                {tokens(d, 50_000 * USDC)}" in out, out
    assert "50,000.000000 " in out and "(50000000000)" in out, out
    assert f"collateral          {tokens(d, view[8])}" in out, out
    assert "entry price         2,000.00000000 USD (200000000000)" in out, out
    # Lens.health's figures, each in token units beside base units.
    assert "price               1,800.00000000 USD (180000000000)" in out, out
    assert f"pnl                 {tokens(d, health[1])}" in out and health[1] == -5_000 * USDC, out
    assert f"equity              {tokens(d, health[3])}" in out, out
    assert f"maintenance margin  {tokens(d, health[4])}" in out, out
    assert f"liquidation price   {units(health[5], 8, 'USD')}" in out, out
    assert "liquidatable        yes" in out, out


def test_position_unknown_id_is_one_line_and_exit_1(chain, keystore):
    line = one_error_line(cli(chain, keystore, "position", "999"), "position", EXIT_NOT_FOUND)
    assert line == "position: no open position 999 on this engine (never opened, or closed)"


def test_position_with_a_malformed_manifest_is_one_line_and_exit_2(chain, keystore, tmp_path):
    broken = manifest_copy(chain, tmp_path, text='{"format": 1, "contracts": ')
    line = one_error_line(cli(chain, keystore, "position", str(chain["eth_long"]), manifest=broken), "position",
                          EXIT_USAGE)
    assert f"{broken}: not valid JSON" in line, line
    no_lens = manifest_copy(chain, tmp_path, contracts={
        k: v for k, v in json.loads(chain["manifest"].read_text())["contracts"].items() if k != "lens"})
    line = one_error_line(cli(chain, keystore, "position", "1", manifest=no_lens), "position", EXIT_USAGE)
    assert "no contract 'lens' in the manifest" in line, line


# ---------------------------------------------------------------- health

def test_health_of_a_liquidatable_and_a_healthy_position(chain, keystore):
    d = chain["devnet"]
    run = cli(chain, keystore, "health", str(chain["eth_short"]))
    assert run.returncode == 0, output(run)
    h = d.lens.functions.health(d.engine.address, chain["eth_short"]).call()
    assert run.stdout.startswith(f"health of position {chain['eth_short']} (Lens.health, now):"), run.stdout
    assert f"equity              {tokens(d, h[3])}" in run.stdout, run.stdout
    assert "liquidatable        no" in run.stdout, run.stdout


def test_health_refused_by_the_lens_gives_its_reason_and_exit_1(chain, keystore):
    line = one_error_line(cli(chain, keystore, "health", str(chain["btc_long"])), "health", EXIT_NOT_FOUND)
    assert line == f"health: position {chain['btc_long']}: Lens.health refused: oracle: price is stale", line


def test_a_closed_position_is_no_open_position_for_either_command(chain, keystore):
    """The engine keeps nothing of a closed position: both commands say so in one line."""
    d, pid = chain["devnet"], chain["eth_short"]
    owner, keeper = d.engine.functions.position(pid).call()[4], d.accounts[5]
    d.trade(d.orders.functions.request_close(pid, activity.ANY_BUY), owner, keeper)
    assert not d.engine.functions.position(pid).call()[3]
    for prog in ("position", "health"):
        line = one_error_line(cli(chain, keystore, prog, str(pid)), prog, EXIT_NOT_FOUND)
        assert line == f"{prog}: no open position {pid} on this engine (never opened, or closed)", line


# ---------------------------------------------------------------- positions

def test_positions_lists_every_open_position_with_its_health(chain, keystore):
    d = chain["devnet"]
    run = cli(chain, keystore, "positions")
    assert run.returncode == 0, output(run)
    out = run.stdout
    assert out.startswith("3 open position(s)\n"), out
    blocks = out.split("\n  ")[1:]
    by_id = {int(b.split()[0]): b for b in blocks if b.split()[0].isdigit()}
    assert set(by_id) == {chain["eth_long"], chain["eth_short"], chain["btc_long"]}, out
    assert "LIQUIDATABLE" in out.split(str(chain["eth_long"]), 1)[1].split(str(chain["eth_short"]))[0], out
    assert f"size {tokens(d, 20_000 * USDC)}" in out, out
    assert "health refused: oracle: price is stale" in out, out


def test_positions_without_a_manifest_or_a_node_is_one_line_each(chain, keystore):
    line = one_error_line(cli(chain, keystore, "positions", manifest=""), "positions", EXIT_USAGE)
    assert line == "positions: which deployment? --manifest deployments/<network>.json", line
    dead = f"http://127.0.0.1:{free_port()}"
    line = one_error_line(cli(chain, keystore, "positions", network=("--network", dead)), "positions",
                          EXIT_NO_NODE)
    assert line.startswith(f"positions: no node at {dead}: "), line


# ---------------------------------------------------------------- totals

def test_totals_are_lens_totals_and_every_market(chain, keystore):
    d = chain["devnet"]
    run = cli(chain, keystore, "totals")
    assert run.returncode == 0, output(run)
    t = d.lens.functions.totals(d.engine.address).call()
    out = run.stdout
    assert f"pool token balance    {tokens(d, t[0])}" in out, out
    assert f"reserved for profits  {tokens(d, t[2])}" in out, out
    assert "open positions        3" in out and "markets               2" in out, out
    assert f"value (totalAssets)              {tokens(d, d.pool.functions.totalAssets().call())}" in out, out
    eth, btc = out.split("market ETH (market 1):")[1].split("market BTC (market 2):")
    assert "price                1,800.00000000 USD (180000000000)\n" in eth, out
    assert f"open interest long   {tokens(d, 50_000 * USDC)}" in eth, out
    assert "REFUSED NOW: oracle: price is stale" in btc, out


def test_totals_on_another_chain_than_the_manifest_s_is_one_line_and_exit_4(chain, keystore, tmp_path):
    other = manifest_copy(chain, tmp_path, chain_id=1)
    line = one_error_line(cli(chain, keystore, "totals", manifest=other), "totals", EXIT_WRONG_CHAIN)
    assert line == f"totals: not the manifest's chain: {other} is for chain 1, the node is chain 31337", line


# ---------------------------------------------------------------- set-price

def test_set_price_continues_the_feed_s_rounds_in_its_decimals(chain, keystore):
    d = chain["devnet"]
    feed = d.feeds["ETH"].functions
    before = feed.latestRoundData().call()
    run = cli(chain, keystore, "set-price", "ETH", "1,900.5", "--account", keystore.alias)
    assert run.returncode == 0, output(run)
    after = feed.latestRoundData().call()
    assert after[0] == before[0] + 1 and after[1] == 190_050_000_000 and feed.decimals().call() == 8
    assert run.stdout.strip() == (
        f"ETH (market 1) feed {d.feeds['ETH'].address}: round {before[0]} -> {after[0]}, "
        f"1,800.00000000 USD (180000000000) -> 1,900.50000000 USD (190050000000), updated at {after[3]}")
    # The engine's price is the new round: the health report says so.
    run = cli(chain, keystore, "health", str(chain["eth_long"]))
    assert "price               1,900.50000000 USD (190050000000)" in run.stdout, output(run)


def test_set_price_refuses_what_it_must_in_one_line(chain, keystore, tmp_path):
    d = chain["devnet"]
    round_before = d.feeds["ETH"].functions.latestRoundData().call()[0]
    testnet = manifest_copy(chain, tmp_path, chain_id=11155111)
    line = one_error_line(cli(chain, keystore, "set-price", "ETH", "1900", "--account", keystore.alias,
                              manifest=testnet), "set-price", EXIT_WRONG_CHAIN)
    assert "is chain 11155111, not a local devnet" in line and "nothing was sent" in line, line
    line = one_error_line(cli(chain, keystore, "set-price", "ETH", "1900.123456789", "--account", keystore.alias),
                          "set-price", EXIT_USAGE)
    assert line == "set-price: price '1900.123456789' has more digits than the feed's 8 decimals", line
    line = one_error_line(cli(chain, keystore, "set-price", "DOGE", "1", "--account", keystore.alias), "set-price",
                          EXIT_NOT_FOUND)
    assert line == f"set-price: no market 'DOGE' in {chain['manifest']} (markets: BTC, ETH)", line
    line = one_error_line(cli(chain, keystore, "set-price", "ETH", "1900", "--account", "TEST::7"), "set-price",
                          EXIT_CANNOT_SIGN)
    assert "does not own the ETH feed" in line and d.deployer in line, line
    variable = f"APE_ACCOUNTS_{keystore.alias}_PASSPHRASE"
    line = one_error_line(cli(chain, keystore, "set-price", "ETH", "1900", "--account", keystore.alias,
                              env_extra={variable: "not-the-passphrase"}), "set-price", EXIT_CANNOT_SIGN)
    assert "wrong passphrase for account" in line and variable in line, line
    assert d.feeds["ETH"].functions.latestRoundData().call()[0] == round_before


# ---------------------------------------------------------------- console

def console(world, keystore, *args, stdin: str):
    from .helpers import APE_RUN_TIMEOUT

    ape = str(Path(sys.executable).parent / "ape")
    return subprocess.run([ape, "run", "console", *args], cwd=ROOT, env=keystore.env(world["anvil"]), input=stdin,
                          capture_output=True, text=True, timeout=APE_RUN_TIMEOUT)


def test_console_binds_the_deployment_s_contracts(chain, keystore):
    d = chain["devnet"]
    stdin = ("print('engine', engine.address, engine.open_positions())\n"
             "print('pool', pool.address == engine.POOL(), 'orders', orders.address == engine.ORDERS())\n"
             "print('token', token.symbol(), 'lens', lens.address, 'feeds', sorted(feeds))\n"
             "print('manifest', manifest.address('engine') == engine.address)\n"
             f"print(health_report(d, {chain['eth_long']}).splitlines()[-1])\n")
    run = console(chain, keystore, "--manifest", str(chain["manifest"]), *NETWORK, stdin=stdin)
    assert run.returncode == 0, output(run)
    out = run.stdout
    assert f"engine {d.engine.address} 3" in out, output(run)
    assert "pool True orders True" in out, output(run)
    assert f"token {d.token.functions.symbol().call()} lens {d.lens.address} feeds ['BTC', 'ETH']" in out
    assert "manifest True" in out and "liquidatable        yes" in out, output(run)
    assert "Traceback" not in output(run), output(run)


def test_console_on_a_restarted_devnet_is_one_line_and_exit_4(chain, keystore, tmp_path):
    other = manifest_copy(chain, tmp_path, genesis_hash="0x" + "ab" * 32)
    run = console(chain, keystore, "--manifest", str(other), *NETWORK, stdin="print('reached')\n")
    line = one_error_line(run, "console", EXIT_WRONG_CHAIN)
    assert "the node's genesis block is 0x" in line and "reached" not in run.stdout, line


# ---------------------------------------------------------------- without a node

def test_amounts_are_exact_token_units_beside_base_units():
    assert units(1_234_567_890, 6, "USDC") == "1,234.567890 USDC (1234567890)"
    assert units(-5, 6, "USDC") == "-0.000005 USDC (-5)"
    assert units(0, 6, "USDC") == "0.000000 USDC (0)"
    assert units(10**30 + 1, 18, "X") == "1,000,000,000,000.000000000000000001 X (1000000000000000000000000000001)"
    assert units(7, 0, "N") == "7 N (7)"


def test_a_usd_price_becomes_the_feed_s_answer_exactly_or_a_usage_error():
    from harness.live.devnet_price import answer_of
    from harness.live.session import CommandError

    assert answer_of("1,900.5", 8) == 190_050_000_000
    assert answer_of("0.00000001", 8) == 1
    assert answer_of("60_000", 18) == 60_000 * 10**18
    for bad in ("0.000000001", "0", "-1", "abc", "nan", "inf"):
        with pytest.raises(CommandError) as err:
            answer_of(bad, 8)
        assert err.value.code == EXIT_USAGE, bad


def test_only_devnet_chain_ids_take_a_price_by_hand():
    from harness.live.devnet_price import refuse_unless_devnet
    from harness.live.session import CommandError

    refuse_unless_devnet(31337, "the node")
    refuse_unless_devnet(1337, "the node")
    for chain_id in (1, 11155111, 8453, None):
        with pytest.raises(CommandError) as err:
            refuse_unless_devnet(chain_id, "the node")
        assert err.value.code == EXIT_WRONG_CHAIN and "not a local devnet" in str(err.value)


@pytest.mark.parametrize("text, words", [
    ("[]", "malformed manifest"),
    ('{"format": 2}', "manifest format 2, this tool reads 1"),
    ('{"format": 1, "contracts": {}, "markets": {}}', "no contract 'engine' in the manifest"),
    ('{"format": 1, "contracts": {"engine": {"address": "0x1"}}, "markets": {}}', "engine address '0x1'"),
])
def test_a_malformed_manifest_is_a_usage_error_before_any_node_is_asked(tmp_path, text, words):
    from harness.live.session import CommandError, load_manifest

    path = tmp_path / "m.json"
    path.write_text(text)
    with pytest.raises(CommandError) as err:
        load_manifest(str(path))
    assert err.value.code == EXIT_USAGE and words in str(err.value), str(err.value)
