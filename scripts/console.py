"""An interactive Python console on a deployment, its contracts bound.

    ape run console --manifest deployments/local.json [--network ethereum:local:foundry]

Bound names: `engine`, `pool`, `orders`, `lens`, `token` (ape contract
instances: `engine.position(pid)`, `token.balanceOf(a)`, transactions
with `sender=`), `feeds` ({symbol: feed}), `manifest` (the Manifest),
`accounts` (ape's), and `d`, the reports' reader, with `position_report`,
`health_report`, `positions_report`, `totals_report` (each takes `d`).
IPython when there is a terminal, Python's own console otherwise (input
piped in, as the tests do). Not ape's own `ape console`: it has no way
to be given these names before it starts.

Exit codes (harness/live/session.py): 0 the console ended; 2 usage, no
or malformed manifest; 4 not the manifest's chain; 6 no node.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import click  # noqa: E402

from harness.live.session import deployment_options, run  # noqa: E402


@click.command(short_help="A Python console with the deployment's contracts bound")
@deployment_options
def cli(manifest_path, network):
    from harness.live.console import interact

    run("console", manifest_path, network, interact)
