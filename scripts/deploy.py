"""Deploy isomargin to a network and write deployments/<network>.json.

    ape run deploy --network ethereum:local:foundry --account ALIAS [--dry-run]
    ape run deploy --network ethereum:sepolia:node --account ALIAS --dry-run
    ape run deploy --network ethereum:local:foundry --account ALIAS --ephemeral   # a throwaway anvil

The account is an ape keystore account (`ape accounts import ALIAS`); its
passphrase comes from the prompt, or from APE_ACCOUNTS_<ALIAS>_PASSPHRASE.
Every run first simulates the remaining transactions on a fork of the
network (reverts caught before anything is spent; the gas is an estimate:
the in-process fork keeps storage warm across transactions where a node
charges it cold, so a node's receipts run up to a few percent higher);
--dry-run stops there. Running again after a failure continues from the manifest.
Before sending it asks; with no terminal to ask, pass --yes. It sends
nothing unless the account's balance covers the simulated gas, plus
GAS_MARGIN for what the simulation underestimates, at the fee the node
asks now. A node that ape starts for this command (the project's
`host: auto` anvil) stops when the command ends, and a manifest naming it
would name a chain that no longer exists: deploy refuses it unless
--ephemeral, which writes the manifest to a temporary folder instead.
See deployments/README.md.

Exit codes (shared with the keeper's): 0 deployed, up to date, or a dry
run; 1 the deployment failed (one "Error:" line); 2 a usage error; 3 the
account cannot sign (locked with no passphrase given, or a wrong one);
5 nothing sent: not confirmed (no terminal and no --yes, or answered no);
7 nothing sent: the balance does not cover the planned gas.
"""
import sys
from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand, network_option

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.live import netconfig  # noqa: E402
from harness.live.netdeploy import Deployment, DeployError, NetworkSender  # noqa: E402
from harness.chains.ape import started_for_this_command  # noqa: E402
from harness.chains.rpc import Rpc, RpcError  # noqa: E402
from harness.chains.unlock import UnlockError, load_account, unlock_for_autosign  # noqa: E402

EXIT_CANNOT_SIGN = 3
EXIT_NOT_CONFIRMED = 5
EXIT_UNFUNDED = 7


def _eth(wei: int) -> str:
    return f"{wei / 10**18:.6f} ETH"


# Measured on anvil: receipts 0.1% (the engine's creation) to 2.9% (a
# market listing) above the simulation's gas; the balance check allows 10%.
GAS_MARGIN_PCT = 10


def _print_plan(steps, gas_price: int, echo) -> int:
    """The plan, each transaction's simulated gas (an estimate); returns the
    gas the balance must cover, the margin included."""
    total = 0
    for i, (ptx, sent) in enumerate(steps, 1):
        target = f"-> {sent.address}" if sent.address else f"to {ptx.to}"
        echo(f"  {i:>2}  {ptx.key:<18} {ptx.description}")
        echo(f"      {'':<18} {target}  gas ~{sent.gas_used:,}  ({len(ptx.data):,} bytes of data)")
        total += sent.gas_used
    planned = total * (100 + GAS_MARGIN_PCT) // 100
    echo(f"  total: {len(steps)} transaction(s), ~{total:,} gas simulated (an estimate: a node's receipts run a "
         f"few percent higher); with a {GAS_MARGIN_PCT}% margin {planned:,} gas, at {gas_price / 10**9:g} gwei "
         f"about {_eth(planned * gas_price)}")
    return planned


def _confirm(question: str) -> None:
    # click.confirm on a closed stdin raises Abort, which prints only
    # "Aborted!": a script or CI job would never learn about --yes.
    if not sys.stdin.isatty():
        click.echo("deploy: transactions to send and no terminal to confirm them: pass --yes to send "
                   "without asking (--dry-run to only look); nothing was sent", err=True)
        sys.exit(EXIT_NOT_CONFIRMED)
    if not click.confirm(question, default=False):
        click.echo("deploy: not confirmed; nothing was sent", err=True)
        sys.exit(EXIT_NOT_CONFIRMED)


@click.command(cls=ConnectedProviderCommand, short_help="Deploy isomargin (resumable; --dry-run)")
@network_option()
@click.option("--account", "alias", required=True, help="ape account alias that deploys and owns the engine")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="network config [default: deployments/config/<network>.yaml]")
@click.option("--manifest", "manifest_path", type=click.Path(dir_okay=False),
              help="manifest to write or resume [default: deployments/<network>.json]")
@click.option("--dry-run", is_flag=True, help="print every transaction and its gas; send nothing")
@click.option("--fresh", is_flag=True, help="set an existing manifest aside and deploy anew")
@click.option("--yes", "-y", is_flag=True, help="do not ask before sending")
@click.option("--ephemeral", is_flag=True,
              help="deploy to a node ape starts for this command and stops after it; the manifest goes to a "
                   "temporary folder")
def cli(ecosystem, network, provider, alias, config_path, manifest_path, dry_run, fresh, yes, ephemeral):
    echo = click.echo
    if provider.name == "test":
        raise click.UsageError("deploying needs a node: pass --network, e.g. ethereum:local:foundry "
                               "(with anvil running, APE_FOUNDRY_HOST=http://127.0.0.1:8545) or ethereum:sepolia:node")
    name = netconfig.manifest_name(ecosystem.name, network.name)
    config_path = Path(config_path) if config_path else netconfig.default_config_path(name)
    started_here = started_for_this_command(provider)
    if started_here and not dry_run and not ephemeral:
        raise click.UsageError(
            f"ape started this {provider.name} node for this command and stops it when the command ends: a manifest "
            "would name a chain that no longer exists. Start a node that stays (`.venv/bin/anvil --port 8545 &`, then "
            "APE_FOUNDRY_HOST=http://127.0.0.1:8545 ape run deploy ...), or pass --ephemeral for a throwaway "
            "deployment; nothing was sent")
    if ephemeral and not manifest_path:
        import tempfile
        manifest_path = Path(tempfile.mkdtemp(prefix="isomargin-ephemeral-")) / f"{name}.json"
    manifest_path = Path(manifest_path) if manifest_path else netconfig.DEPLOYMENTS / f"{name}.json"
    account = load_account(alias)
    rpc = Rpc.ape(provider)
    # Not provider.network_choice: given a URL it carries the URL, and RPC
    # URLs often carry API keys. The manifest is committed; logs are shared.
    choice = f"{ecosystem.name}:{network.name}:{provider.name}"
    try:
        config = netconfig.load(config_path)
        deployer = account.address
        nonce, balance = rpc.nonce(deployer), rpc.balance(deployer)
        echo(f"isomargin deploy{' (DRY RUN)' if dry_run else ''}: {name} "
             f"({choice}, chain {rpc.chain_id()})")
        echo(f"  deployer {deployer} ({alias}): nonce {nonce}, balance {_eth(balance)}")
        echo(f"  config {config_path}{' (mock token and feeds)' if config.mock else ''}")
        fork_url = getattr(provider, "http_uri", None) or getattr(provider, "uri", None)
        d = Deployment(rpc, config, manifest_path, deployer, name=name, network_choice=choice,
                       fork_url=fork_url, fresh=fresh, dry_run=dry_run, out=lambda line: echo(f"  {line}"))
        for warning in d.preflight():
            echo(f"WARNING: {warning}")
        steps = d.simulate()
        gas_price = rpc.fee_per_gas()
        if not steps:
            echo("nothing to send: the deployment is up to date with the config")
        else:
            echo("transactions to send (simulated on a fork of the chain's head):")
            total = _print_plan(steps, gas_price, echo)
            if total * gas_price > balance:
                short = (f"the deployer's balance {_eth(balance)} does not cover the planned {total:,} gas "
                         f"(the simulation's, plus {GAS_MARGIN_PCT}%) at "
                         f"{gas_price / 10**9:g} gwei ({_eth(total * gas_price)}): fund {deployer}")
                if not dry_run:
                    click.echo(f"deploy: {short}; nothing was sent", err=True)
                    sys.exit(EXIT_UNFUNDED)
                echo(f"WARNING: {short}")
        if dry_run:
            echo("DRY RUN: nothing was sent.")
            return
        if steps:
            if not yes:
                _confirm(f"send {len(steps)} transaction(s) from {d.deployer}?")
            try:
                # One passphrase for the whole run; a wrong one is caught here, before the first send.
                unlock_for_autosign(account)
            except UnlockError as err:
                click.echo(f"deploy: {err}; nothing was sent", err=True)
                sys.exit(EXIT_CANNOT_SIGN)
            unlock = hasattr(account, "set_autosign")
            try:
                d.execute(NetworkSender(rpc, account, provider))
            finally:
                if unlock:
                    account.set_autosign(False)
        else:
            d.execute(NetworkSender(rpc, account, provider))  # records completion; sends nothing
        problems = d.verify()
    except (DeployError, netconfig.ConfigError, RpcError) as err:
        raise click.ClickException(str(err))
    echo(f"manifest: {manifest_path}" + (" (ephemeral: the node stops with this command)" if ephemeral else ""))
    for key, address in d.manifest.data["addresses"].items():
        echo(f"  {key:<22} {address}")
    for symbol, m in d.manifest.markets.items():
        echo(f"  market {symbol:<15} id {m['market_id']}, feed {m['feed']}")
    if d.manifest.has("timelock"):
        # Say it where the operator looks: owner changes from now on go through the timelock.
        echo(f"  the engine's owner is the timelock: owner changes wait {d.config.timelock_delay} s after they are "
             f"scheduled (proposer {d.config.proposer_for(d.deployer)}); the guardian pauses at once")
    if problems:
        for p in problems:
            echo(f"PROBLEM: {p}")
        raise click.ClickException(f"{len(problems)} problem(s) in the deployment")
    echo("deployment verified: code, immutables, markets and parameters match")
