"""Audit a deployment against its own event history.

    ape run audit deployments/sepolia.json [--network ethereum:sepolia:node]

Reads every engine, pool and relevant token event since the deployment
(in block ranges of at most --max-range, for RPCs with log limits),
replays them through the model, and compares the model with the chain's
current state, every contract's code with this checkout's sources, and
every vault's balance with the position it holds. Prints OK or each
discrepancy (position, field, model value, chain value, and the event
where they diverged). Exit code: 0 OK, 1 discrepancies, 2 could not audit.

Without --network, the network the manifest was deployed with is used.
"""
import sys
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.live.audit import Auditor, write_json  # noqa: E402
from harness.live.manifest import Manifest, ManifestError  # noqa: E402
from harness.chains.ape import no_node_hint, started_for_this_command  # noqa: E402
from harness.chains.rpc import Rpc, RpcError  # noqa: E402


@click.command(short_help="Audit a deployment: replay its events through the model, compare with the chain")
@click.argument("manifest_path", type=click.Path(dir_okay=False))
@click.option("--network", default=None, help="ape network choice [default: the manifest's]")
@click.option("--max-range", default=2_000, show_default=True, type=click.IntRange(min=1),
              help="most blocks per eth_getLogs request (narrowed further if the node refuses)")
@click.option("--max-topics", default=50, show_default=True, type=click.IntRange(min=1),
              help="most addresses per token-transfer log filter")
@click.option("--to-block", default=None, type=click.IntRange(min=0), help="audit the state at this block [head]")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="also write the report as JSON")
@click.option("--quiet", "-q", is_flag=True, help="print only the verdict and discrepancies")
def cli(manifest_path, network, max_range, max_topics, to_block, json_path, quiet):
    from ape import networks

    try:
        manifest = Manifest.load(manifest_path)
    except ManifestError as err:
        click.echo(f"audit: {err}", err=True)
        sys.exit(2)
    choice = network or manifest.data["network_choice"]
    progress = (lambda line: None) if quiet else (lambda line: click.echo(f"... {line}", err=True))
    from ape.exceptions import ApeException

    try:
        with networks.parse_network_choice(choice) as provider:
            if started_for_this_command(provider):
                raise RpcError(no_node_hint(provider))
            report = Auditor(Rpc.ape(provider), manifest, max_range=max_range, max_topics=max_topics,
                             to_block=to_block, progress=progress).run()
    except (RpcError, ManifestError) as err:
        click.echo(f"audit: cannot audit {manifest_path} on {choice}: {err}", err=True)
        sys.exit(2)
    except ApeException as err:     # an unknown network or provider: ape's own message, in one line
        click.echo(f"audit: cannot connect to {choice}: {str(err).strip().splitlines()[0]}", err=True)
        sys.exit(2)
    if json_path:
        write_json(report, json_path)
    click.echo(report.render())
    if any(d.kind == "chain" for d in report.discrepancies):
        click.echo(f"audit: {choice} is not the chain {manifest_path} was deployed on", err=True)
        sys.exit(2)
    sys.exit(0 if report.ok else 1)
