"""An interactive console on a deployment: its contracts as ape instances
under the names an operator would type, and the reports' reader.

The instances are made from this checkout's compiled ABIs (the harness's
artifact cache) at the manifest's addresses, with the pool, order book,
token and insurance taken from the engine's immutables as the reports
take them: the console and the reports see the same contracts.
"""
import sys

from ..chains.artifacts import artifact
from ..chains.rpc import Rpc
from . import views
from .manifest import Manifest

BANNER = """isomargin console on {choice}, deployment {path}
  engine {engine}   lens {lens}
  pool {pool}   orders {orders}   token {token}
  feeds: {feeds}
  d: the reports' reader, e.g. print(position_report(d, pid)), print(totals_report(d))"""


def namespace(m: Manifest, rpc: Rpc) -> dict:
    import ape

    d = views.Deployment(rpc, m)

    def at(address, name):
        return ape.Contract(address, abi=artifact(name)["abi"])

    feeds = {sym: at(mk["feed"], "MockAggregator") for sym, mk in m.markets.items() if mk.get("feed")}
    return {
        "engine": at(d.engine, "Engine"), "pool": at(d.pool, "LiquidityPool"), "orders": at(d.orders, "OrderBook"),
        "lens": at(d.lens, "Lens"), "token": at(d.token, "MockUSDC"), "feeds": feeds, "manifest": m,
        "accounts": ape.accounts, "chain": ape.chain, "d": d, "units": views.units,
        "position_report": views.position_report, "health_report": views.health_report,
        "positions_report": views.positions_report, "totals_report": views.totals_report,
    }


def interact(m: Manifest, rpc: Rpc) -> None:
    import ape

    names = namespace(m, rpc)
    d = names["d"]
    banner = BANNER.format(choice=ape.chain.provider.network_choice, path=m.path, engine=d.engine, lens=d.lens,
                           pool=d.pool, orders=d.orders, token=d.token, feeds=", ".join(names["feeds"]) or "none")
    if sys.stdin.isatty():
        try:
            import IPython
        except ImportError:
            pass
        else:
            print(banner)
            # A fresh IPython application, not embed(): embed would also
            # bind this function's own locals.
            IPython.start_ipython(argv=["--no-banner", "--no-confirm-exit"], user_ns=names)
            return None
    import code

    code.interact(banner=banner, local=names, exitmsg="")
    return None
