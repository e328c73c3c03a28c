"""How a drill's wall time grows with its population (drills/SCALING.md).

    ape run drill_scaling --backend revm --sizes 100,1000,10000
    ape run drill_scaling --backend ape --sizes 100,1000 --network ethereum:local:foundry

Runs one scenario (default drills/cascade-1000.yaml) rescaled to each size
(--positions semantics: cohorts keep their shares, liquidity grows with
the population), without plots, and prints a markdown table: wall time,
its phases, and time per position.
"""
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import click  # noqa: E402
from ape.cli import ConnectedProviderCommand, network_option  # noqa: E402


@click.command(cls=ConnectedProviderCommand, short_help="Measure drill wall time against population")
@network_option()
@click.option("--scenario", default="drills/cascade-1000.yaml", show_default=True)
@click.option("--backend", type=click.Choice(["ape", "revm", "model"]), default="revm", show_default=True)
@click.option("--sizes", default="100,1000,10000", show_default=True)
@click.option("--isolation", type=click.Choice(["tx", "step"]), default="step", show_default=True)
def cli(scenario, backend, sizes, isolation):
    from harness.drills.drill import run_drill
    from harness.drills.drivers import drill_chain
    from harness.drills.report import figures
    from harness.drills.scenario import load_scenario

    rows = []
    for n in [int(x) for x in sizes.split(",")]:
        s = replace(load_scenario(ROOT / scenario, positions=n), isolation=isolation)
        chain = drill_chain(backend, s.accounts_needed())
        t0, c0 = time.perf_counter(), time.process_time()
        r = run_drill(s, backend, chain, progress=False)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        f = figures(r)
        rows.append((n, r.backend, wall, cpu, r.timing.get("open_s", 0), r.timing.get("steps_s", 0),
                     f["positions"]["liquidated"], f["model_agreement"]["steps_checked"], r.status))
        click.echo(f"{n} positions on {r.backend}: {wall:.1f} s ({r.status})", err=True)
    click.echo("| positions | backend | wall s | CPU s | opening s | steps s | liquidated | steps checked | "
               "ms per position | status |")
    click.echo("|---|---|---|---|---|---|---|---|---|---|")
    for n, b, wall, cpu, open_s, steps_s, liq, checked, status in rows:
        click.echo(f"| {n:,} | {b} | {wall:.1f} | {cpu:.1f} | {open_s:.1f} | {steps_s:.1f} | {liq:,} | {checked} | "
                   f"{1000 * wall / n:.2f} | {status} |")

