"""The keeper's /metrics (Prometheus) and /health, for a service left running.

Counters are fed by the keeper's own callbacks (Keeper.on_attempt,
Executor.on_execution, run_keeper's on_round), so they count exactly what
the summary counts; a failure's label is the head of its operator words
(reasons.attempt_words: "lost race", "token paused", ...), one vocabulary
for the log, the summary and the metrics.

/health answers 200 while the last round finished less than `max_age`
seconds ago and 503 otherwise (none yet, or the loop is stuck: a node that
hangs, a round that never ends), which is what a supervisor or a load
balancer's probe needs to restart it.
"""
import threading
import time
from typing import Callable, Optional
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, make_wsgi_app

from .reasons import attempt_words

PREFIX = "isomargin_keeper"


def failure_label(attempt) -> str:
    return attempt_words(attempt).split(":", 1)[0]


class KeeperMetrics:
    def __init__(self, *, max_age: float, clock: Callable[[], float] = time.time):
        self.max_age, self.clock = max_age, clock
        # A registry of its own: only the keeper's figures, not the process's defaults.
        self.registry = r = CollectorRegistry()
        self.rounds = Counter(f"{PREFIX}_rounds", "Rounds finished", registry=r)
        self.round_errors = Counter(f"{PREFIX}_round_errors", "Rounds abandoned on an RPC error", registry=r)
        self.sent = Counter(f"{PREFIX}_liquidations_sent", "Liquidation transactions sent", registry=r)
        self.succeeded = Counter(f"{PREFIX}_liquidations_succeeded", "Liquidations this keeper made", registry=r)
        self.failed = Counter(f"{PREFIX}_liquidations_failed", "Liquidations tried that did not count, by reason",
                              ["reason"], registry=r)
        self.held = Counter(f"{PREFIX}_liquidations_held_back", "Liquidations not sent, by reason", ["reason"],
                            registry=r)
        self.executions = Counter(f"{PREFIX}_executions", "Orders and LP requests tried, by kind and outcome",
                                  ["kind", "outcome"], registry=r)
        self.gas_limited = Counter(f"{PREFIX}_rounds_over_gas_price_limit",
                                   "Rounds that sent nothing: the node's gas price above --max-gas-price", registry=r)
        self.last_round = Gauge(f"{PREFIX}_last_round_timestamp_seconds",
                                "Wall-clock time the last round finished", registry=r)
        self.lag = Gauge(f"{PREFIX}_head_lag_seconds",
                         "Wall-clock time minus the latest block's timestamp at the last round "
                         "(a node stuck behind the chain shows here)", registry=r)
        self.liquidatable = Gauge(f"{PREFIX}_liquidatable_positions", "Positions liquidatable at the last scan",
                                  registry=r)
        self._last: Optional[float] = None
        self._unsettled = set()
        self._server = None

    # ---------------------------------------------------------------- fed by the keeper

    def on_attempt(self, attempt) -> None:
        if attempt.outcome == "held_back":
            self.held.labels(reason=failure_label(attempt)).inc()
            return
        if attempt.earlier:
            return                  # before this run: the engine's history, not sent by us now
        if attempt.position_id in self._unsettled:
            # Counted as sent when its answer was lost; this is how it ended.
            self._unsettled.discard(attempt.position_id)
        else:
            self.sent.inc()
        if attempt.outcome == "unsettled":
            self._unsettled.add(attempt.position_id)
        elif attempt.outcome == "liquidated":
            self.succeeded.inc()
        else:
            self.failed.labels(reason=failure_label(attempt)).inc()

    def on_execution(self, e) -> None:
        self.executions.labels(kind=e.kind, outcome=e.outcome).inc()

    def on_round(self, info: dict) -> None:
        if info.get("error"):
            self.round_errors.inc()
            return
        now = self.clock()
        self.rounds.inc()
        if info.get("gas_limited"):
            self.gas_limited.inc()
        self.liquidatable.set(info.get("liquidatable", 0))
        if info.get("head_timestamp") is not None:
            self.lag.set(now - info["head_timestamp"])
        self.last_round.set(now)
        self._last = now

    # ---------------------------------------------------------------- served

    def health(self):
        if self._last is None:
            return 503, "no round finished yet"
        age = self.clock() - self._last
        if age > self.max_age:
            return 503, f"last round finished {age:.0f} s ago, over the limit of {self.max_age:.0f} s"
        return 200, f"ok: last round finished {age:.0f} s ago (limit {self.max_age:.0f} s)"

    def app(self, environ, start_response):
        if environ.get("PATH_INFO", "/") == "/health":
            code, text = self.health()
            start_response(f"{code} {'OK' if code == 200 else 'Service Unavailable'}",
                           [("Content-Type", "text/plain; charset=utf-8")])
            return [(text + "\n").encode()]
        return self._metrics_app(environ, start_response)

    def serve(self, port: int, host: str = "127.0.0.1") -> int:
        """Serve /metrics and /health on a daemon thread; returns the port."""
        self._metrics_app = make_wsgi_app(self.registry)
        self._server = make_server(host, port, self.app, WSGIServer, handler_class=_Quiet)
        threading.Thread(target=self._server.serve_forever, daemon=True, name="keeper-metrics").start()
        return self._server.server_port

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class _Quiet(WSGIRequestHandler):
    # Every scrape would otherwise print an access line into the keeper's log.
    def log_message(self, *args):
        pass
