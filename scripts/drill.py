"""Run a liquidation drill and write its report.

    ape run drill                                   # drills/default.yaml on ape's default network
    ape run drill drills/cascade-1000.yaml --network ethereum:local:foundry
    ape run drill drills/cascade-1000.yaml --backend revm       # in process, fast
    ape run drill drills/cascade-1000.yaml --backend rpc        # raw JSON-RPC to a fresh anvil (or --rpc URL)
    ape run drill drills/offline-100k.yaml --backend model      # no chain: the model alone
    ape run drill compare reports/A reports/B [--out diff.md]   # what moved between two reports

The report lands in reports/<scenario>-<backend>-s<seed>/ (or --out).
Exit status 1 when chain and model disagree or an invariant breaks; the
report then says where. Exit status 2, before anything is deployed, when
the model refuses positions for their leverage or refuses most of them
(harness/drills/preflight.py), unless --allow-rejections, and when its
chain cannot be had (no node at --rpc, too few accounts). The drill always deploys a fresh protocol: running
against an existing deployment (deployments/<network>.json) would leave the
model without the state it must mirror, so it is not offered; the
standalone keeper (scripts/keeper.py) does work against one.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import click  # noqa: E402
from ape.cli import ConnectedProviderCommand, network_option  # noqa: E402

from harness.drills.scenario import DEFAULT_SCENARIO, ScenarioError, load_scenario  # noqa: E402


class Refused(click.ClickException):
    # Not 1: that status says chain and model disagreed.
    exit_code = 2


@click.command(cls=ConnectedProviderCommand, short_help="Run a liquidation drill")
@click.argument("scenario", required=False, default=DEFAULT_SCENARIO)
@click.argument("reports", nargs=-1)
@network_option()
@click.option("--backend", type=click.Choice(["ape", "revm", "rpc", "model"]), default="ape", show_default=True,
              help="ape: the connected ape network; revm: in-process EVM; rpc: raw JSON-RPC to --rpc (default: "
                   "a fresh anvil, stopped at the end); model: offline, no chain")
@click.option("--rpc", "rpc_url", help="the node for --backend rpc (its unlocked accounts sign)")
@click.option("--seed", type=int, help="override the scenario's seed")
@click.option("--positions", type=int, help="rescale the population to this many positions")
@click.option("--isolation", type=click.Choice(["tx", "step"]), help="override the scenario's isolation check")
@click.option("--out", type=click.Path(file_okay=False), help="report folder")
@click.option("--no-plots", is_flag=True, help="skip the PNG plots")
@click.option("--no-progress", is_flag=True, help="no progress bar")
@click.option("--allow-rejections", is_flag=True,
              help="run even if the model refuses positions for their leverage, or most positions")
def cli(scenario, reports, backend, rpc_url, seed, positions, isolation, out, no_plots, no_progress,
        allow_rejections):
    """Run SCENARIO (a drill's YAML), or `compare A B`: two reports' differences."""
    from dataclasses import replace

    if scenario == "compare":
        _compare(reports, out)
        return
    if reports:
        raise click.UsageError(f"one scenario at a time (got also {' '.join(reports)}); "
                               "to compare two reports: ape run drill compare A B")

    from harness.drills.drill import Drill, SetupError
    from harness.drills.drivers import drill_chain
    from harness.drills.preflight import preflight
    from harness.drills.report import figures, report_dir, write_report
    from harness.drills.summary import summary_lines

    path = Path(scenario)
    if not path.exists() and (ROOT / scenario).exists():
        path = ROOT / scenario
    try:
        s = load_scenario(path, seed=seed, positions=positions)
    except ScenarioError as err:
        raise click.ClickException(str(err))
    if isolation:
        s = replace(s, isolation=isolation)

    try:
        offline = Drill(s, "model", None, progress=not no_progress) if backend == "model" else None
        problems = preflight(s, offline).problems()
    except SetupError as err:
        raise click.ClickException(f"setting up {s.name} on the model: {err}")
    if problems and not allow_rejections:
        raise Refused("\n".join(problems) + "\nNothing was deployed; --allow-rejections runs it anyway.")
    for problem in problems:
        click.secho(f"warning: {problem}", fg="yellow", err=True)

    try:
        if rpc_url and backend != "rpc":
            raise ValueError("--rpc is for --backend rpc")
        drill = offline or Drill(s, backend, drill_chain(backend, s.accounts_needed(), rpc_url),
                                 progress=not no_progress)
    except ValueError as err:
        raise Refused(str(err))
    try:
        result = drill.run()
    except SetupError as err:
        raise click.ClickException(f"setting up {s.name}: {err}")
    folder = Path(out) if out else report_dir(ROOT / "reports", result)
    write_report(result, folder, plots=not no_plots)
    for line in summary_lines(figures(result), folder):
        click.echo(line)
    if result.status != "ok":
        click.secho(f"\nDRILL STOPPED: {result.status}\n{result.failure['message']}", fg="red", err=True)
        sys.exit(1)



def _compare(reports, out):
    from harness.drills.compare import CompareError, compare, load, render

    if len(reports) != 2:
        raise Refused("compare takes two reports (report.json files or their folders): "
                      "ape run drill compare A B")
    try:
        (a_name, a), (b_name, b) = load(reports[0]), load(reports[1])
        text = render(compare(a, b, a_name, b_name))
    except CompareError as err:
        raise Refused(str(err))
    click.echo(text, nl=False)
    if out:
        Path(out).write_text(text)
