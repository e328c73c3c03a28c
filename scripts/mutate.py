"""Mutation testing of the contracts or the model:

    ape run mutate [--model] [--sample N --seed S] [--contracts GLOB] [--jobs J] [--timeout T] [--check]

The same as `./isomargin mutate` (harness/mutate/cli.py, `--help` there).
It needs no network: every mutant runs in its own sandbox copy.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import click  # noqa: E402

from harness.mutate.cli import main  # noqa: E402


@click.command(short_help="Mutation testing (contracts, or --model)", add_help_option=False,
               context_settings=dict(ignore_unknown_options=True, allow_extra_args=True))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def cli(args):
    # The options are argparse's (shared with ./isomargin mutate): pass them through untouched.
    code = main(list(args))
    if code:
        sys.exit(code)
