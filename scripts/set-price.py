"""Devnet only: publish a market's next price round on its mock feed.

    ape run set-price ETH 1800 --account ALIAS --manifest deployments/local.json [--network ethereum:local:foundry]
    ape run set-price BTC 59,500.25 --account TEST::0 --manifest deployments/local.json

The feed is the manifest's for the market, checked against the one the
engine reads; the USD price is put in the feed's own decimals exactly (a
price with more digits is refused) and sent through
MockAggregator.set_answer, as the feed's owner (the deployer on a
devnet), so the feed's round ids continue and the round is stamped with
the block's time. Prints the round before and after. The account is
unlocked as deploy and keeper do (APE_ACCOUNTS_<alias>_PASSPHRASE, or the
prompt); TEST::N is ape's test account N.

Exit codes (harness/live/session.py): 0 sent; 1 no such market in the
manifest, or a feed that is not the engine's; 2 usage, no or malformed
manifest, a price that is not a positive number in the feed's decimals;
3 the account cannot sign (locked, wrong passphrase, not the feed's
owner); 4 not the manifest's chain, or not a local devnet; 6 no node.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import click  # noqa: E402

from harness.live.session import deployment_options, run  # noqa: E402


@click.command(short_help="Devnet: set a market's price on its mock feed (the next round)")
@click.argument("market")
@click.argument("usd")
@click.option("--account", "alias", required=True,
              help="ape account alias of the feed's owner (TEST::N: ape's test account N)")
@deployment_options
def cli(market, usd, alias, manifest_path, network):
    from harness.live.devnet_price import refuse_unless_devnet, set_price
    from harness.live.session import EXIT_CANNOT_SIGN, CommandError

    def job(m, rpc):
        from ape import Contract

        from harness.chains.artifacts import artifact
        from harness.chains.unlock import UnlockError, load_account, unlock_for_autosign

        signer = load_account(alias)

        def send(feed, answer):
            from ape.logging import logger

            # Unlocked only now: after every check that needs no signature.
            # ape's warnings on autosign and its cached key go to stdout, where
            # the report's one line is what a script reads.
            logger.set_level("ERROR")
            try:
                unlock_for_autosign(signer)
            except UnlockError as err:
                raise CommandError(str(err), EXIT_CANNOT_SIGN) from None
            Contract(feed, abi=artifact("MockAggregator")["abi"]).set_answer(answer, sender=signer)

        return set_price(m, rpc, market, usd, signer, send)

    def devnet_manifest(m):
        refuse_unless_devnet(m.data.get("chain_id"), f"{m.path}'s deployment")

    run("set-price", manifest_path, network, job, before=devnet_manifest)
