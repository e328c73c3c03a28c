"""Trading activity on a devnet deployment, driven with plain web3.py.

Every kind of action the audit replays happens at least once: trades as
two-step orders (requested, executed by a keeper after a price round;
one cancelled by the engine for its price, one by its owner, one expired
and cleared), LP deposit
and redeem requests (executed and cancelled),
mint, withdraw, redeem on another's behalf and share transfers; opens on
both markets and sides, collateral in and out, increase, decrease, closes
in profit and in loss, a liquidation with bad debt covered by insurance,
slot recycling, the guardian's pause at once, and parameter and guardian
changes and unpause through the timelock that owns the engine; with
time passing and prices moving in between. Positions are left open at the
end so the audit has live state to compare.

Needs anvil (impersonation for the deployer, who owns the mock token and
the mock feeds, is the guardian and the timelock's proposer). By hand, after `ape run deploy` on anvil:

    python tests/deploy/activity.py http://127.0.0.1:8545 deployments/local.json
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from web3 import HTTPProvider, Web3  # noqa: E402
from web3.logs import DISCARD  # noqa: E402

from harness.chains.artifacts import artifact  # noqa: E402
from model.orders import CANCEL_DELAY, ORDER_EXPIRY  # noqa: E402
from model.pool import LP_REQUEST_DELAY  # noqa: E402

USDC = 10**6
PRICE = 10**8
MAX = 2**256 - 1
ANY_BUY, ANY_SELL = 2**128 - 1, 0          # acceptable prices: any


class Devnet:
    def __init__(self, url: str, manifest_path):
        self.w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 60}))
        self.m = json.loads(Path(manifest_path).read_text())
        a = self.m["addresses"]
        self.deployer = self.m["deployer"]
        self.token = self._contract(a["token"], "MockUSDC")
        self.engine = self._contract(a["engine"], "Engine")
        self.pool = self._contract(a["pool"], "LiquidityPool")
        self.orders = self._contract(a["orders"], "OrderBook")
        self.lens = self._contract(a["lens"], "Lens")
        self.timelock = self._contract(a["timelock"], "Timelock")
        self.feeds = {sym: self._contract(a[f"feed:{sym}"], "MockAggregator") for sym in self.m["markets"]}
        self.market_ids = {sym: m["market_id"] for sym, m in self.m["markets"].items()}
        self.accounts = self.w3.eth.accounts
        self.governed = []
        self.rpc("anvil_impersonateAccount", [self.deployer])

    def _contract(self, address, name):
        return self.w3.eth.contract(address=address, abi=artifact(name)["abi"])

    def rpc(self, method, params):
        reply = self.w3.provider.make_request(method, params)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result")

    def send(self, fn, sender):
        tx = fn.transact({"from": sender})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx, timeout=30)
        if receipt.status != 1:
            raise RuntimeError(f"transaction {tx.hex()} reverted")
        return receipt

    def wait(self, seconds: int):
        self.rpc("evm_increaseTime", [seconds])
        self.rpc("evm_mine", [])

    def govern(self, *calls):
        """Owner calls on the engine, as the deploy leaves it: one batch the
        deployer (the config's proposer) schedules in the timelock and
        executes once its delay has passed."""
        tl = self.timelock.functions
        targets = [self.engine.address] * len(calls)
        payloads = [bytes.fromhex(c._encode_transaction_data()[2:]) for c in calls]
        delay = tl.get_minimum_delay().call()
        salt = bytes(31) + bytes([len(self.governed)])
        self.governed.append(calls)
        args = (targets, [0] * len(calls), payloads, bytes(32), salt)
        self.send(tl.schedule_batch(*args, delay), self.deployer)
        self.wait(delay)
        return self.send(tl.execute_batch(*args), self.deployer)

    def set_price(self, symbol, price):
        self.send(self.feeds[symbol].functions.set_answer(price), self.deployer)

    def request(self, fn, trader) -> int:
        receipt = self.send(fn, trader)
        (ev,) = self.orders.events.OrderRequested().process_receipt(receipt, errors=DISCARD)
        return ev.args.order_id

    def execute(self, order_id, keeper):
        """A price round after the request (every feed publishes its answer
        again), then the keeper executes. A second passes first: anvil
        mines blocks within one second at the same timestamp, and the round
        must be newer than the request."""
        self.wait(1)
        for feed in self.feeds.values():
            self.send(feed.functions.set_answer(feed.functions.latestAnswer().call()), self.deployer)
        return self.send(self.orders.functions.execute_order(order_id), keeper)

    def trade(self, fn, trader, keeper):
        return self.execute(self.request(fn, trader), keeper)

    def open(self, trader, symbol, is_long, size, amount, keeper) -> int:
        o = self.orders.functions
        receipt = self.trade(o.request_open(self.market_ids[symbol], is_long, size, amount,
                                            ANY_BUY if is_long else ANY_SELL), trader, keeper)
        (ev,) = self.orders.events.OrderExecuted().process_receipt(receipt, errors=DISCARD)
        return ev.args.position_id

    def settle(self, receipt, keeper):
        """The async half of an LP request: LP_REQUEST_DELAY passes, every
        feed publishes its answer again, a keeper executes."""
        events = (self.pool.events.DepositRequested().process_receipt(receipt, errors=DISCARD)
                  or self.pool.events.RedeemRequested().process_receipt(receipt, errors=DISCARD))
        self.wait(LP_REQUEST_DELAY)
        for feed in self.feeds.values():
            self.send(feed.functions.set_answer(feed.functions.latestAnswer().call()), self.deployer)
        return self.send(self.pool.functions.execute_request(events[0].args.request_id), keeper)

    def vault_of(self, position_id) -> str:
        return self.engine.functions.vaults(position_id >> 32).call()


def run(url: str, manifest_path) -> dict:
    """Play the activity; return what a test needs to point at (ids, actors)."""
    d = Devnet(url, manifest_path)
    e, p, t, o = d.engine.functions, d.pool.functions, d.token.functions, d.orders.functions
    acc = d.accounts
    lp1, lp2, t1, t2, t3, t4, liquidator, new_guardian = acc[1:9]
    keeper = liquidator

    for who in (lp1, lp2, t1, t2, t3, t4):
        d.send(t.mint(who, 5_000_000 * USDC), d.deployer)
        d.send(t.approve(d.engine.address, MAX), who)
        d.send(t.approve(d.pool.address, MAX), who)
        d.send(t.approve(d.orders.address, MAX), who)
    d.settle(d.send(p.requestDeposit(1_000_000 * USDC, lp1, lp1), lp1), lp1)
    d.settle(d.send(p.requestDeposit(400_000 * USDC, lp2, lp2), lp2), lp1)
    # A request cancelled before execution.
    receipt = d.send(p.requestDeposit(1_000 * USDC, lp2, lp2), lp2)
    (req,) = d.pool.events.DepositRequested().process_receipt(receipt, errors=DISCARD)
    d.send(p.cancel_request(req.args.request_id), lp2)
    d.send(e.fund_insurance(2_000 * USDC), lp1)

    eth_long = d.open(t1, "ETH", True, 50_000 * USDC, 6_000 * USDC, keeper)
    eth_short = d.open(t2, "ETH", False, 20_000 * USDC, 2_500 * USDC, keeper)
    btc_long = d.open(t3, "BTC", True, 100_000 * USDC, 3_000 * USDC, keeper)
    btc_short = d.open(t4, "BTC", False, 10_000 * USDC, 1_000 * USDC, keeper)

    d.wait(86_400)
    d.set_price("ETH", 2_100 * PRICE)
    d.set_price("BTC", 59_000 * PRICE)
    d.send(e.add_collateral(eth_long, 1_000 * USDC), t1)
    d.send(e.remove_collateral(eth_long, 300 * USDC), t1)
    d.trade(o.request_increase(eth_long, 10_000 * USDC, 500 * USDC, ANY_BUY), t1, keeper)
    d.trade(o.request_decrease(btc_long, 30_000 * USDC, ANY_SELL), t3, keeper)
    # The engine refuses a close at a price the trader will not take: cancelled, refunded.
    d.trade(o.request_close(btc_short, 1), t4, keeper)
    # An order its owner cancels, and one nobody executes until it expires and is cleared.
    mine = d.request(o.request_decrease(btc_short, 1_000 * USDC, ANY_BUY), t4)
    d.wait(CANCEL_DELAY)
    d.send(o.cancel_order(mine), t4)
    late = d.request(o.request_close(btc_short, ANY_BUY), t4)
    d.wait(ORDER_EXPIRY + 1)
    d.send(o.clear_expired(late), keeper)

    d.send(p.transfer(lp1, 50_000 * USDC), lp2)
    d.settle(d.send(p.requestRedeem(100_000 * USDC * 10**6, lp1, lp1), lp1), lp2)
    d.send(p.approve(lp1, MAX), lp2)
    d.settle(d.send(p.requestRedeem(10_000 * USDC, lp1, lp2), lp1), lp1)

    d.wait(3_600)
    d.set_price("BTC", 55_000 * PRICE)
    d.set_price("ETH", 2_100 * PRICE)
    if not d.lens.functions.health(e.address, btc_long).call()[6]:
        raise RuntimeError("activity: the BTC long should be liquidatable at 55,000")
    d.send(e.liquidate(btc_long), liquidator)

    d.trade(o.request_close(eth_short, ANY_BUY), t2, keeper)     # a loss
    d.trade(o.request_close(eth_long, ANY_SELL), t1, keeper)     # a profit, partly paid by the pool
    d.send(e.fund_insurance(500 * USDC), t4)

    params = list(e.market_params(d.market_ids["ETH"]).call())
    params[2] = 15                              # open_fee_bps
    d.send(e.pause(), d.deployer)               # the guardian: at once
    d.govern(e.set_market_params(d.market_ids["ETH"], tuple(params)), e.unpause(), e.set_guardian(new_guardian))

    d.wait(600)
    d.set_price("ETH", 2_050 * PRICE)
    d.set_price("BTC", 56_000 * PRICE)
    recycled = d.open(t2, "ETH", True, 30_000 * USDC, 3_500 * USDC, keeper)   # reuses a freed vault slot
    btc_new = d.open(t3, "BTC", False, 40_000 * USDC, 2_000 * USDC, keeper)
    d.wait(120)
    d.set_price("BTC", 56_100 * PRICE)
    d.send(e.add_collateral(btc_short, 100 * USDC), t4)
    return {
        "open": [btc_short, recycled, btc_new],
        "closed": [eth_long, eth_short, btc_long],
        "owners": {btc_short: t4, recycled: t2, btc_new: t3},
        "traders": [t1, t2, t3, t4],
        "lps": [lp1, lp2],
        "devnet": d,
    }


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    out = run(sys.argv[1], sys.argv[2])
    print(f"activity done; open positions {out['open']}, closed {out['closed']}")
