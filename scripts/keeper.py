"""A standalone keeper for an isomargin engine on any ape network: it
liquidates, and executes pending trade orders and LP requests.

    ape run keeper --network ethereum:sepolia:node --manifest deployments/sepolia.json --account my-keeper
    ape run keeper --network ethereum:local:foundry --engine 0x... --test-account 9 --once

Open positions are tracked from the engine's events (read in block ranges
from the deployment's start block), their state is read 100 slots per
call and their health computed locally; liquidations that revert because
someone else was first or the price recovered are normal, RPC errors are
retried, and each liquidation is counted once (by position id). Then every
pending order (OrderBook.execute_order) and LP request
(LiquidityPool.execute_request) is tried; what cannot run yet is logged in
words to act on ("order 12 waits: no price round after its request yet",
"order 9 expired: clear it ..."). Prints a line per round and a summary on
exit (JSON with --json): this run's figures, apart from what the engine's
events show this account liquidated before it, and every position not
liquidated with why (healthy, oracle stale, token paused, lost race...).

With --account, the keystore account is unlocked once, as deploy does:
the passphrase from the prompt or, unattended, from
APE_ACCOUNTS_<alias>_PASSPHRASE; it then signs every transaction itself.

With --metrics-port, Prometheus metrics are served on /metrics (rounds,
liquidations sent, succeeded, failed and held back by reason, orders and
LP requests by outcome, the last round's time, the head's lag) and
/health answers 200 while the last round finished within
--health-max-age seconds, 503 otherwise.

With --max-gas-price GWEI, a round in which the node's eth_gasPrice is
above the limit sends nothing (no liquidation, no execution) and says so
in one line, "gas price X gwei above the limit Y gwei", counted apart
(gas_limited_rounds); every transaction is sent with the limit as its
max fee per gas.

Restarts are safe: a round in which a transaction of the keeper's account
is still pending (an earlier run stopped between the broadcast and the
block, or another process signs with the account) sends nothing and says
so, counted apart (pending_tx_rounds); the next round after the block
goes on (harness/keeper/nonces.py).

SIGTERM or SIGINT stops it cleanly: a transaction already sent is waited
for and counted, nothing more is sent, the summary is printed and the
exit code is 0 (a second SIGINT stops at once).

Exit codes: 0 the rounds ran (or a signal stopped them); 1 another
error (no contract at the engine's address, an unreadable manifest); 2 a usage error; 3 the account
cannot sign (locked with no passphrase given, or a wrong passphrase);
4 the node is not the manifest's chain (its chain id, or its genesis
block when the manifest records one). Each is one line on stderr.
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import click  # noqa: E402
from ape.cli import ConnectedProviderCommand, network_option  # noqa: E402

EXIT_CANNOT_SIGN = 3
EXIT_WRONG_CHAIN = 4


@click.command(cls=ConnectedProviderCommand, short_help="Run a liquidation keeper")
@network_option()
@click.option("--engine", help="Engine address (or use --manifest)")
@click.option("--manifest", type=click.Path(dir_okay=False), help="deployments/<network>.json")
@click.option("--lens", help="Lens address, to page slots in fewer calls (default: the manifest's, else none)")
@click.option("--account", help="ape account alias to liquidate from")
@click.option("--test-account", type=int, help="index of an ape test account instead (devnets)")
@click.option("--from-block", type=int, help="first block to read events from (default: the manifest's)")
@click.option("--interval", type=float, default=12.0, show_default=True, help="seconds between rounds")
@click.option("--rounds", type=int, help="stop after this many rounds (default: run until interrupted)")
@click.option("--once", is_flag=True, help="one round, then exit")
@click.option("--max-per-round", type=int, default=0, help="liquidations per round (0: no limit)")
@click.option("--no-events", is_flag=True, help="page through every slot instead of tracking events")
@click.option("--no-orders", is_flag=True, help="liquidate only: do not execute orders and LP requests")
@click.option("--coin-price", type=click.FloatRange(min=0, min_open=True),
              help="collateral tokens one unit of the chain's coin is worth (e.g. 3000 USDC per ETH): hold back "
                   "liquidations whose reward, simulated on the node, is below their gas cost (default: no check)")
@click.option("--max-gas-price", type=click.FloatRange(min=0, min_open=True),
              help="gwei: a round in which the node's gas price is above this sends nothing, says why and is "
                   "counted apart; transactions are sent with this as their max fee per gas (default: no limit)")
@click.option("--metrics-port", type=click.IntRange(0, 65535),
              help="serve Prometheus /metrics and /health on 127.0.0.1:PORT (0: any free port, logged)")
@click.option("--health-max-age", type=click.FloatRange(min=0, min_open=True),
              help="seconds: /health answers 503 when the last round finished longer ago "
                   "(default: 3 intervals + 60 s)")
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
def cli(engine, manifest, lens, account, test_account, from_block, interval, rounds, once, max_per_round, no_events,
        no_orders, coin_price, max_gas_price, metrics_port, health_max_age, as_json):
    import ape

    from harness.chains.quiet_ape import QuietApeChain, quiet_ape
    from harness.chains.unlock import UnlockError, unlock_for_autosign
    from harness.keeper.ape_events import ApeEngineEvents
    from harness.keeper.chain_source import ChainPositions, run_keeper
    from harness.keeper.executions import ChainExecutions, Executor
    from harness.keeper.keeper import ChainPort, Keeper

    quiet_ape()
    engine, start, manifest_lens, m = _target(engine, manifest)
    if m is not None:
        _check_chain(m)
    lens = lens or manifest_lens
    if from_block is not None:
        start = from_block
    if account and test_account is not None:
        raise click.UsageError("give --account or --test-account, not both")
    if account:
        signer = ape.accounts.load(account)
        try:
            # Before any round: a keeper that cannot sign would otherwise
            # fail every liquidation and count it as an RPC error.
            unlock_for_autosign(signer)
        except UnlockError as err:
            click.echo(f"keeper: {err}", err=True)
            sys.exit(EXIT_CANNOT_SIGN)
    elif test_account is not None:
        signer = ape.accounts.test_accounts[test_account]
    else:
        raise click.UsageError("which account liquidates? --account ALIAS or --test-account N")
    if not ape.chain.provider.get_code(engine):
        raise click.ClickException(f"no contract at {engine} on {ape.chain.provider.network.choice}")

    chain = QuietApeChain(accounts=[signer])
    events = None if no_events else ApeEngineEvents(engine)
    positions = ChainPositions(chain, engine, lens, events=events, start_block=start or 0)
    gate = None
    if coin_price is not None:
        from harness.chains.rpc import Rpc
        from harness.keeper.profit import RewardCheck

        liquidate = chain.codec("Engine")["liquidate"]
        decimals = chain.call(chain.call(engine, "Engine", "TOKEN"), "MockUSDC", "decimals")
        gate = RewardCheck(Rpc.ape(ape.chain.provider).request, engine, lambda pid: liquidate.encode([pid]),
                           coin_price, token_decimals=decimals, log=lambda line: click.echo(line, err=True)).refusal
    metrics = None
    if metrics_port is not None:
        from harness.keeper.metrics import KeeperMetrics

        metrics = KeeperMetrics(max_age=health_max_age or 3 * interval + 60)
        try:
            port = metrics.serve(metrics_port)
        except OSError as err:
            raise click.ClickException(f"cannot serve metrics on port {metrics_port}: {err}")
        click.echo(f"keeper: metrics on http://127.0.0.1:{port}/metrics, health on /health", err=True)
    from harness.chains.rpc import Rpc
    from harness.keeper.nonces import PendingTransactions

    # A restart never signs over a transaction an earlier run left in flight.
    round_gates = [("pending_tx", PendingTransactions(Rpc.ape(ape.chain.provider).request, signer.address).refusal)]
    if max_gas_price is not None:
        from harness.keeper.gas import GasPriceLimit

        limit = GasPriceLimit(Rpc.ape(ape.chain.provider).request, max_gas_price)
        round_gates.append(("gas_limited", limit.refusal))
        # Capped per transaction too: a price that rises between the check
        # and the send cannot make a transaction pay more than the limit.
        chain.tx_kwargs = {"max_fee": limit.limit_wei}
    keeper = Keeper("keeper", signer.address, ChainPort(chain, engine), max_per_scan=max_per_round, gate=gate,
                    on_attempt=metrics.on_attempt if metrics else None)
    executor = None
    if not no_orders:
        # The engine knows its order book and pool: no manifest needed for them.
        executor = Executor("keeper", signer.address, ChainExecutions(
            chain, chain.call(engine, "Engine", "ORDERS"), chain.call(engine, "Engine", "POOL")),
            on_execution=metrics.on_execution if metrics else None)
    stop = _stop_on_signals()
    try:
        summary = run_keeper(positions, keeper, rounds=1 if once else rounds, interval=interval,
                             log=lambda line: click.echo(line, err=True), executor=executor, stop=stop,
                             on_round=metrics.on_round if metrics else None, round_gates=round_gates)
    except KeyboardInterrupt:
        # Only a second Ctrl-C gets here (the first sets `stop`): the
        # operator insists, so the transaction in flight, if any, is not waited for.
        summary = keeper.summary()
        summary["stopped"] = "interrupted again: a transaction in flight may be unaccounted for"
        if executor is not None:
            summary["executions"] = executor.summary()
    if summary.get("stopped"):
        click.echo(f"keeper: stopped ({summary['stopped']}) after {summary.get('rounds', '?')} round(s); "
                   f"nothing left half-sent", err=True)
    click.echo(json.dumps(summary, indent=1, sort_keys=True) if as_json else _summary_text(summary))
    if metrics is not None:
        metrics.close()


def _stop_on_signals():
    """SIGTERM (a service manager's stop) and SIGINT set an event the
    round loop checks between sends, so no transaction is cut off between
    being signed and being counted; a second SIGINT interrupts at once.
    The handler only sets the event: writing to stderr from it could
    re-enter a write the main thread is in the middle of."""
    import signal
    import threading

    stop = threading.Event()
    stop.reason = None

    def handler(signum, _frame):
        name = signal.Signals(signum).name
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        if not stop.is_set():
            stop.reason = name
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)
    return stop


def _usdc(units: int) -> str:
    return f"{units / 1e6:,.2f} USDC"


def _summary_text(s: dict) -> str:
    # This run's figures first and apart: a restarted keeper finds its
    # earlier liquidations in the engine's log, and they are not today's work.
    before = s["before_this_run"]
    lines = [f"this run: liquidated {s['liquidated']} (rewards {_usdc(s['rewards'])}), attempts {s['attempts']}, "
             f"lost races {s['lost_races']}, healthy again {s['healthy_reverts']}, RPC errors {s['rpc_errors']}, "
             f"gas {s['gas_spent']:,}",
             f"before this run (the engine's events): liquidated {before['liquidated']} by this account "
             f"(rewards {_usdc(before['rewards'])})"]
    why_not = s.get("not_liquidated_now", {})
    if why_not:
        lines.append("not liquidated, and why:")
        lines += [f"  {'position' if len(ids) == 1 else 'positions'} {', '.join(map(str, ids))}: {words}"
                  for words, ids in why_not.items()]
    if s.get("pending_tx_rounds"):
        lines.append(f"rounds that sent nothing, a transaction of this account still pending: "
                     f"{s['pending_tx_rounds']}")
    if s.get("gas_limited_rounds"):
        lines.append(f"rounds that sent nothing, the gas price above --max-gas-price: {s['gas_limited_rounds']}")
    if "executions" in s:
        lines.append(_executions_line(s["executions"]))
    return "\n".join(lines)


def _executions_line(ex: dict) -> str:
    waiting = "".join(f"\n  {message}" for message in ex["waiting_now"].values())
    return (f"orders and LP requests: executed {ex['executed']}, cancelled by the engine {ex['cancelled']}, "
            f"waiting {len(ex['waiting_now'])}" + waiting)


def _target(engine, manifest):
    if manifest:
        from harness.live.manifest import Manifest, ManifestError
        try:
            m = Manifest.load(manifest)
        except ManifestError as err:
            raise click.ClickException(str(err))
        contracts = m.data.get("contracts", {})
        if "engine" not in contracts:
            raise click.ClickException(f"{manifest} records no engine (deployment status: {m.data.get('status')})")
        lens = contracts.get("lens", {}).get("address")
        return contracts["engine"]["address"], m.data.get("start_block") or 0, lens, m
    if not engine:
        raise click.UsageError("which engine? --engine ADDRESS or --manifest deployments/<network>.json")
    return engine, 0, None, None


def _check_chain(m) -> None:
    # Before anything is read or sent: on another chain the manifest's
    # addresses may hold other contracts, or this account's nonces and funds.
    import ape

    from harness.chains.rpc import Rpc, RpcError

    rpc = Rpc.ape(ape.chain.provider)
    try:
        problem = m.not_this_chain(rpc.chain_id(), rpc.block_hash(0) if m.data.get("genesis_hash") else None)
    except RpcError as err:
        raise click.ClickException(f"cannot ask the node which chain it is: {err}")
    if problem:
        click.echo(f"keeper: not the manifest's chain: {problem}; nothing was done", err=True)
        sys.exit(EXIT_WRONG_CHAIN)
