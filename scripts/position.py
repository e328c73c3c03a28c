"""One position of a deployment, as the engine and the Lens report it.

    ape run position 4294967297 --manifest deployments/local.json [--network ethereum:local:foundry]

Engine.position's fields (owner, market, side, size, collateral, entry
price, reserve), then Lens.health's (price, PnL, borrow fee, equity,
maintenance margin, liquidation price). The engine keeps nothing of a
closed position: its id is then "no open position", as is one never
opened (`ape run audit` replays the events that tell them apart). Amounts in
token units beside base units. Exit codes (harness/live/session.py): 0
shown; 1 no open position of that id; 2 usage, no or malformed manifest;
4 not the manifest's chain; 6 no node.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import click  # noqa: E402

from harness.live.session import deployment_options, run  # noqa: E402


@click.command(short_help="Show a position and its health")
@click.argument("position_id", type=click.IntRange(min=0))
@deployment_options
def cli(position_id, manifest_path, network):
    from harness.live.views import Deployment, position_report

    run("position", manifest_path, network, lambda m, rpc: position_report(Deployment(rpc, m), position_id))
