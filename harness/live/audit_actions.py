"""What each logged action means for the model: the engine's events
(positions, insurance, markets, roles) and the pool's, replayed with the
same arguments and sender, and their logged figures compared with the
model's. A mixin of the Replayer (audit_replay.py), whose state it uses.
"""
from typing import Dict

from model import MarketParams, Revert
from model.orders import BY_OWNER, CLOSE, DECREASE, EXPIRED, INCREASE, OPEN
from model.positions import GEN_BITS

from .indexer import Log

POSITION_EVENTS = {"PositionOpened", "CollateralAdded", "CollateralRemoved", "PositionIncreased",
                   "PositionDecreased", "PositionClosed", "PositionLiquidated"}

ORDER_EVENTS = {"OrderRequested", "OrderExecuted", "OrderCancelled", "PayoutClaimed"}


class Actions:
    def _touch(self, pid: int, log: Log) -> bool:
        """Record `log` against a position; False if the model already lost track of it."""
        self.last_event[("slot", pid >> GEN_BITS)] = log
        if pid in self.lost:
            self.skipped[pid] += 1
            return False
        return True

    def _compare(self, pid: int, log: Log, pairs) -> None:
        for name, model_value, chain_value in pairs:
            if model_value != chain_value:
                self.flag_position(pid, name, model_value, chain_value, log)

    def _compare_event(self, pid: int, log: Log, mark: int) -> None:
        """The model's own event for this call against the chain's, field by
        field: what the model says happened, never re-derived here."""
        mine = [e.event for e in self.journal.events[mark:]
                if e.address == self.engine.address and e.name == log.event]
        if len(mine) != 1:
            self.flag_position(pid, f"{log.event} events", len(mine), 1, log)
            return
        # Every field: the twin test holds model and contract events to the same fields.
        self._compare(pid, log, [(name.replace("_", " "), value, log.args.get(name))
                                 for name, value in mine[0].args().items()])

    def _engine_action(self, log: Log, listed: Dict[int, Log]) -> bool:
        """Replay one engine event; False if the model did not (or could not) run it."""
        e, a, eng = log.event, log.args, self.engine
        if e in POSITION_EVENTS:
            pid = a["position_id"]
            if e != "PositionOpened" and not self._touch(pid, log):
                return False
            ok = getattr(self, "_" + e)(log, a, pid)
            if e == "PositionOpened":
                self._touch(pid, log)
            return ok
        owner = eng.owner
        ok = True
        engine = ("engine", "engine")
        if e == "InsuranceFunded":
            ok, _ = self._run(log, eng.fund_insurance, a["amount"], sender=a["funder"],
                              subject=("insurance fund", "insurance fund"))
        elif e == "MarketParamsSet":
            market_id, params = a["market_id"], MarketParams(*a["params"])
            subject = (("market", market_id), f"market {market_id}")
            if market_id in listed:
                lst = listed.pop(market_id)
                self._feed(lst.args["feed"])
                ok, got = self._run(log, eng.list_market, lst.args["feed"], params, sender=owner, subject=subject)
                if ok and got != market_id:
                    self.flag("replay", subject[1], "market id", got, market_id, log, key=subject[0])
                if ok and lst.args["timestamp"] != self.env.timestamp:
                    self.flag("replay", subject[1], "listing timestamp", self.env.timestamp, lst.args["timestamp"],
                              lst, key=subject[0])
            else:
                ok, _ = self._run(log, eng.set_market_params, market_id, params, sender=owner, subject=subject)
                if ok and eng.market_state(market_id).borrow_index != a["borrow_index"]:
                    self.flag("replay", subject[1], "borrow index at new params",
                              eng.market_state(market_id).borrow_index, a["borrow_index"], log, key=subject[0])
            self.last_event[("market", market_id)] = log
        elif e == "MarketFeedSet":
            self._feed(a["feed"])
            ok, _ = self._run(log, eng.set_market_feed, a["market_id"], a["feed"], sender=owner,
                              subject=(("market", a["market_id"]), f"market {a['market_id']}"))
            self.last_event[("market", a["market_id"])] = log
        elif e == "GuardianSet":
            ok, _ = self._run(log, eng.set_guardian, a["guardian"], sender=owner, subject=engine)
        elif e == "Paused":
            ok, _ = self._run(log, eng.pause, sender=a["account"], subject=engine)
        elif e == "Unpaused":
            ok, _ = self._run(log, eng.unpause, sender=a["account"], subject=engine)
        elif e == "OwnershipTransferStarted":
            ok, _ = self._run(log, eng.transfer_ownership, a["new_owner"], sender=a["previous_owner"], subject=engine)
        elif e == "OwnershipTransferred":
            ok, _ = self._run(log, eng.accept_ownership, sender=a["new_owner"], subject=engine)
        if e in ("GuardianSet", "Paused", "Unpaused", "OwnershipTransferStarted", "OwnershipTransferred"):
            self.last_event["engine"] = log
        for market_id in list(listed):
            lst = listed.pop(market_id)
            self.flag("replay", f"market {market_id}", "listing", "none", lst.args["feed"], lst,
                      where=f"{lst.ref()}: MarketListed without its MarketParamsSet")
        return ok

    def _PositionOpened(self, log, a, pid):
        eng = self.engine
        self._set_price(a["market_id"], a["entry_price"], log)
        amount = a["collateral"] + a["open_fee"]
        mark = len(self.journal.events)
        ok, got = self._run(log, eng.open_position, a["market_id"], a["is_long"], a["size"], amount, sender=a["owner"],
                            subject=("position", pid))
        if not ok:
            return False
        if got != pid:
            self.flag_position(pid, "position id", got, pid, log)
            return True
        self._compare_event(pid, log, mark)
        return ok

    def _owner(self, pid):
        return self.engine.slots_[pid >> GEN_BITS].owner

    def _market(self, pid):
        return self.engine.slots_[pid >> GEN_BITS].market_id

    def _checked(self, log, pid, fn, *args, sender):
        """Run one position action on the model and compare its event."""
        mark = len(self.journal.events)
        ok, _ = self._run(log, fn, *args, sender=sender, subject=("position", pid))
        if ok:
            self._compare_event(pid, log, mark)
        return ok

    def _CollateralAdded(self, log, a, pid):
        return self._checked(log, pid, self.engine.add_collateral, pid, a["amount"], sender=self._owner(pid))

    def _CollateralRemoved(self, log, a, pid):
        self._set_price(self._market(pid), a["price"], log)
        return self._checked(log, pid, self.engine.remove_collateral, pid, a["amount"], sender=self._owner(pid))

    def _PositionIncreased(self, log, a, pid):
        self._set_price(self._market(pid), a["price"], log)
        return self._checked(log, pid, self.engine.increase_position, pid, a["size_delta"], a["collateral_delta"],
                             sender=self._owner(pid))

    def _PositionDecreased(self, log, a, pid):
        self._set_price(self._market(pid), a["price"], log)
        return self._checked(log, pid, self.engine.decrease_position, pid, a["size_delta"], sender=self._owner(pid))

    def _PositionClosed(self, log, a, pid):
        self._set_price(self._market(pid), a["price"], log)
        return self._checked(log, pid, self.engine.close_position, pid, sender=self._owner(pid))

    def _PositionLiquidated(self, log, a, pid):
        self._set_price(self._market(pid), a["price"], log)
        return self._checked(log, pid, self.engine.liquidate, pid, sender=a["liquidator"])

    # ---------------------------------------------------------------- order book actions

    def _order_action(self, log: Log, inner) -> bool:
        """The order book's events, replayed: a request as its owner made it,
        an execution (or the engine's refusal) by the keeper that sent it
        with every feed at its latest logged round, an owner's cancel or a
        clearing as logged. The model's own events (the order book's and,
        for an execution, the engine's in `inner`) must be the chain's,
        field for field."""
        orders, a = self.orders, log.args
        subject = (("order", a["order_id"]), f"order {a['order_id']}")
        mark = len(self.journal.events)
        if log.event == "OrderRequested":
            kind = a["kind"]
            if kind == OPEN:
                call = (orders.request_open, a["market_id"], a["is_long"], a["size"], a["amount"], a["acceptable_price"])
            elif kind == INCREASE:
                call = (orders.request_increase, a["position_id"], a["size"], a["amount"], a["acceptable_price"])
            elif kind == DECREASE:
                call = (orders.request_decrease, a["position_id"], a["size"], a["acceptable_price"], a["receiver"])
            elif kind == CLOSE:
                call = (orders.request_close, a["position_id"], a["acceptable_price"], a["receiver"])
            else:
                self.flag("replay", subject[1], "order kind", "open/increase/decrease/close", kind, log,
                          key=subject[0])
                return False
            ok, got = self._run(log, *call, sender=a["owner"], subject=subject)
        elif log.event == "PayoutClaimed":
            subject = (("claim", a["owner"], a["receiver"]), f"claim of {a['owner']} for {a['receiver']}")
            ok, _ = self._run(log, orders.claim, a["owner"], a["receiver"], a["to"], sender=a["by"], subject=subject)
        elif log.event == "OrderCancelled" and a["reason"] == BY_OWNER:
            ok, _ = self._run(log, orders.cancel_order, a["order_id"], sender=a["by"], subject=subject)
        elif log.event == "OrderCancelled" and a["reason"] == EXPIRED:
            ok, _ = self._run(log, orders.clear_expired, a["order_id"], sender=a["by"], subject=subject)
        else:
            self._latest_rounds()
            keeper = a["keeper"] if log.event == "OrderExecuted" else a["by"]
            ok, _ = self._run(log, orders.execute_order, a["order_id"], sender=keeper, subject=subject)
        if not ok:
            return False
        self._compare_order_events(log, subject, mark, inner)
        return True

    def _latest_rounds(self) -> None:
        for market_id in range(1, self.engine.market_count + 1):
            address = self.engine.market_state(market_id).feed
            feed, known = self._feed(address), self.feed_rounds.get(address)
            if feed is not None and known is not None:
                feed._set(*known)

    def _compare_order_events(self, log: Log, subject, mark: int, inner) -> None:
        emitted = self.journal.events[mark:]
        mine = [e.event for e in emitted if e.address == self.orders.address and e.name == log.event]
        if len(mine) != 1:
            self.flag("replay", subject[1], f"{log.event} events", len(mine), 1, log, key=subject[0])
            return
        for name, value in mine[0].args().items():
            if value != log.args.get(name):
                self.flag("replay", subject[1], name.replace("_", " "), value, log.args.get(name), log, key=subject[0])
        engine_events = [e.event for e in emitted if e.address == self.engine.address and e.name in POSITION_EVENTS]
        if [type(e).__name__ for e in engine_events] != [l.event for l in inner]:
            self.flag("replay", subject[1], "engine events of the execution", [type(e).__name__ for e in engine_events],
                      [l.event for l in inner], log, key=subject[0])
            return
        for ev, chain_log in zip(engine_events, inner):
            pid = chain_log.args["position_id"]
            self._touch(pid, chain_log)
            self._compare(pid, chain_log, [(name.replace("_", " "), value, chain_log.args.get(name))
                                           for name, value in ev.args().items()])

    # ---------------------------------------------------------------- pool actions

    def _pool_action(self, log: Log) -> None:
        """The pool's async flows, replayed by their events: a request as its
        owner (or sender) made it, an execution after every market's feed is
        set to its latest logged round (what the pool valued itself at), a
        cancellation by the request's owner. The model's outcome must be the
        chain's, field for field."""
        pool, a = self.pool, log.args
        self.token.moves = []
        if log.event == "DepositRequested":
            ok, _ = self._run(log, pool.requestDeposit, a["assets"], a["controller"], a["owner"], sender=a["sender"],
                              subject=("pool", "pool"))
            if not ok:
                self.token.transferFrom(a["owner"], pool.address, a["assets"], sender=pool.address)
                pool.pending_deposits += a["assets"]
            return
        if log.event == "RedeemRequested":
            self._run(log, pool.requestRedeem, a["shares"], a["controller"], a["owner"], sender=a["sender"],
                      subject=("pool", "pool"))
            return
        if log.event == "RequestCancelled":
            self._run(log, pool.cancel_request, a["request_id"], sender=a["owner"], subject=("pool", "pool"))
            return
        for market_id in range(1, self.engine.market_count + 1):
            address = self.engine.market_state(market_id).feed
            feed, known = self._feed(address), self.feed_rounds.get(address)
            if feed is not None and known is not None:
                feed._set(*known)
        ok, done = self._run(log, pool.execute_request, a["request_id"], sender=a["controller"],
                             subject=("pool", "pool"))
        if ok:
            got = (done.controller, done.is_deposit, done.assets, done.shares, done.fee)
            want = (a["controller"], a["is_deposit"], a["assets"], a["shares"], a["fee"])
            if got != want:
                self.flag("replay", "pool", f"request {a['request_id']} executed (controller, is_deposit, assets, "
                          "shares, fee)", got, want, log, key="pool")

    def _share_transfer(self, log: Log) -> None:
        a = log.args
        try:
            self.pool.shares.transfer(a["receiver"], a["value"], sender=a["sender"])
        except Revert as err:
            self.flag("replay", "pool", f"share transfer {a['sender']} -> {a['receiver']}", f"revert {err.reason!r}",
                      a["value"], log, key="pool")
            self.pool.shares.balanceOf[a["receiver"]] += a["value"]
