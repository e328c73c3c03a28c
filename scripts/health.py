"""An open position's health now, from Lens.health: price, PnL, borrow
fee, equity, maintenance margin, liquidation price, liquidatable or not.

    ape run health 4294967297 --manifest deployments/local.json [--network ethereum:local:foundry]

Exit codes (harness/live/session.py): 0 shown; 1 no open position of
that id (never opened, or closed), or Lens.health refusing (its reason,
e.g. "oracle: price is stale"); 2 usage, no or malformed manifest; 4 not the manifest's chain;
6 no node.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import click  # noqa: E402

from harness.live.session import deployment_options, run  # noqa: E402


@click.command(short_help="Show an open position's health (Lens.health)")
@click.argument("position_id", type=click.IntRange(min=0))
@deployment_options
def cli(position_id, manifest_path, network):
    from harness.live.views import Deployment, health_report

    run("health", manifest_path, network, lambda m, rpc: health_report(Deployment(rpc, m), position_id))
