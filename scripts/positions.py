"""Every open position of a deployment, with its equity and whether it
is liquidatable (Lens.slots pages the engine's vault slots, Lens.health
judges each).

    ape run positions --manifest deployments/local.json [--network ethereum:local:foundry]

Exit codes (harness/live/session.py): 0 listed; 2 usage, no or malformed
manifest; 4 not the manifest's chain; 6 no node.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import click  # noqa: E402

from harness.live.session import deployment_options, run  # noqa: E402


@click.command(short_help="List the open positions and their health")
@deployment_options
def cli(manifest_path, network):
    from harness.live.views import Deployment, positions_report

    run("positions", manifest_path, network, lambda m, rpc: positions_report(Deployment(rpc, m)))
