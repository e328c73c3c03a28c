"""A deployment's totals: Lens.totals (pool balance and shares, reserves,
insurance, counts, pause), the pool's value, cash and free assets, and
every market's price, open interest, borrow index and parameters.

    ape run totals --manifest deployments/local.json [--network ethereum:local:foundry]

Exit codes (harness/live/session.py): 0 shown; 2 usage, no or malformed
manifest; 4 not the manifest's chain; 6 no node.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import click  # noqa: E402

from harness.live.session import deployment_options, run  # noqa: E402


@click.command(short_help="Show the protocol's totals and markets")
@deployment_options
def cli(manifest_path, network):
    from harness.live.views import Deployment, totals_report

    run("totals", manifest_path, network, lambda m, rpc: totals_report(Deployment(rpc, m)))
