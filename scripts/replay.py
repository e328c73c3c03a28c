"""Replay a logged action sequence on any network, checking model and chain
after every step.

    ape run replay reports/replays/latest.json [--network ethereum:local:foundry]

The stateful test writes its shrunk failing sequence to
reports/replays/latest.json (and a timestamped copy). Replaying it here on a
real node shows an in-process finding on that node. The log names accounts
by index and contracts by role, so it replays against the network's own
test accounts. Exit code 1 on a disagreement.
"""
import json
import sys

import click
from ape.cli import ConnectedProviderCommand

from harness.chains.ape import ApeChain
from harness.chains.revm import RevmChain
from harness.chains.rpc_chain import RpcChain
from harness.twin.twin import REPLAY_KINDS as ENTRY_KINDS, Disagreement, Twin


MALFORMED = 2


def read_log(path):
    """(entries, fiat) of a replay file, or one line on stderr and exit 2:
    a file the state machine did not write is the user's to fix, not a
    traceback to read."""
    try:
        with open(path) as f:
            body = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        _malformed(path, f"not JSON ({err})")
    if not isinstance(body, dict) or not isinstance(body.get("log"), list):
        _malformed(path, 'no "log" list; replay files are written by the stateful test (reports/replays/)')
    bad = next((i for i, e in enumerate(body["log"]) if not isinstance(e, list) or not e or
                e[0] not in ENTRY_KINDS), None)
    if bad is not None:
        _malformed(path, f"log entry {bad} is not one of {', '.join(sorted(ENTRY_KINDS))}: {body['log'][bad]!r:.80}")
    return body["log"], bool(body.get("fiat", False))


def _malformed(path, why):
    click.echo(f"replay: {path}: {why}", err=True)
    sys.exit(MALFORMED)


def _chain(backend, provider):
    import ape

    if backend == "revm":
        return RevmChain(n_accounts=20)
    accounts = list(ape.accounts.test_accounts)
    if backend == "rpc":
        return RpcChain(provider.uri, accounts=[a.address for a in accounts])
    return ApeChain(accounts)


@click.command(cls=ConnectedProviderCommand, short_help="Replay a logged action sequence")
@click.argument("log_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--backend", type=click.Choice(["ape", "rpc", "revm"]), default="ape", show_default=True,
              help="ape: through ape on the connected network; rpc: raw JSON-RPC to its node; revm: in process")
def cli(provider, log_file, backend):
    entries, fiat = read_log(log_file)
    twin = Twin(_chain(backend, provider), fiat=fiat)
    try:
        twin.replay(entries)
    except Disagreement as err:
        click.echo(f"DISAGREEMENT on {twin.chain.name}:\n{err}", err=True)
        sys.exit(1)
    click.echo(f"replayed {len(entries)} log entries ({twin.step} transactions) on {twin.chain.name}: "
               "model and chain agree at every step")
