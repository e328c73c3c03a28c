"""A market's price path: segments in the scenario, one price per step here.

    path:
      - flat: 2                                  # hold (the oracle still beats)
      - crash: {steps: 6, drop_pct: 25}          # straight line down
      - ramp: {steps: 4, to_pct: 10}             # straight line, up or down
      - gap: {drop_pct: 30}                      # one step, past bankruptcy
      - bleed: {steps: 40, pct_per_step: 0.5}    # compounding slow decline
      - wick: {down_steps: 2, depth_pct: 20, up_steps: 2, recover_pct: 100}
      - stale: {steps: 5, drift_pct: -15}        # oracle silent while the market moves
      - points: [1900, 1850.5, 1700]             # prices in USD
      - csv: {file: data/eth.csv, column: price} # one row per step

Arithmetic is on integers (feed units, percentages in millionths), so a
path is the same on every machine. A `stale` segment pushes no update: the
feed keeps its last answer and timestamp, and the engine refuses it once
it is older than the market's `staleness`; the next segment's first step
catches up with wherever the market went.
"""
import csv
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Callable, List

PPM = 1_000_000

SEGMENTS = ("flat", "crash", "ramp", "gap", "bleed", "wick", "stale", "points", "csv")


@dataclass(frozen=True)
class PriceStep:
    price: int      # where the market is, feed units
    update: bool    # whether the oracle publishes it this step


def _ppm(value, fail, where) -> int:
    try:
        d = Decimal(str(value)) * (PPM // 100)
    except InvalidOperation:
        fail(where, f"expected a percentage, got {value!r}")
    if d != d.to_integral_value():
        fail(where, f"{value!r}: at most four decimals")
    return int(d)


def _count(value, fail, where, lo=1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        fail(where, f"expected a whole number of steps >= {lo}, got {value!r}")
    return value


def _usd(value, decimals, fail, where) -> int:
    try:
        d = Decimal(str(value).strip()) * 10**decimals
    except InvalidOperation:
        fail(where, f"expected a price, got {value!r}")
    return int(d.to_integral_value())


def _line(start: int, end: int, steps: int) -> List[int]:
    return [start + (end - start) * i // steps for i in range(1, steps + 1)]


def compile_path(segments, start: int, decimals: int, base_dir: Path,
                 fail: Callable[[str, str], None]) -> List[PriceStep]:
    """Steps 1..n of a path beginning at `start`. `fail(where, message)` raises."""
    if not isinstance(segments, list):
        fail("", "expected a list of segments")
    out: List[PriceStep] = []
    price = start
    for i, seg in enumerate(segments):
        where = f"[{i}]"
        if not isinstance(seg, dict) or len(seg) != 1:
            fail(where, f"each segment is one of {', '.join(SEGMENTS)} with its arguments")
        (kind, args), = seg.items()
        where = f"[{i}].{kind}"
        if kind not in SEGMENTS:
            fail(f"[{i}]", f"unknown segment {kind!r} (known: {', '.join(SEGMENTS)})")

        def arg(name, default=None, required=True):
            if not isinstance(args, dict):
                fail(where, f"expected a mapping of arguments, got {args!r}")
            if name not in args:
                if required:
                    fail(f"{where}.{name}", "missing")
                return default
            return args[name]

        def known(*names):
            if isinstance(args, dict):
                extra = sorted(set(args) - set(names))
                if extra:
                    fail(f"{where}.{extra[0]}", f"unknown argument (allowed: {', '.join(names)})")

        steps: List[int] = []
        update = True
        if kind == "flat":
            steps = [price] * _count(args, fail, where)
        elif kind == "crash":
            known("steps", "drop_pct")
            drop = _ppm(arg("drop_pct"), fail, f"{where}.drop_pct")
            if not 0 <= drop < PPM:
                fail(f"{where}.drop_pct", "must be in [0, 100)")
            steps = _line(price, price * (PPM - drop) // PPM, _count(arg("steps"), fail, f"{where}.steps"))
        elif kind == "ramp":
            known("steps", "to_pct")
            move = _ppm(arg("to_pct"), fail, f"{where}.to_pct")
            steps = _line(price, price * (PPM + move) // PPM, _count(arg("steps"), fail, f"{where}.steps"))
        elif kind == "gap":
            known("drop_pct")
            drop = _ppm(arg("drop_pct"), fail, f"{where}.drop_pct")
            if not 0 < drop < PPM:
                fail(f"{where}.drop_pct", "must be in (0, 100)")
            steps = [price * (PPM - drop) // PPM]
        elif kind == "bleed":
            known("steps", "pct_per_step")
            rate = _ppm(arg("pct_per_step"), fail, f"{where}.pct_per_step")
            if not 0 <= rate < PPM:
                fail(f"{where}.pct_per_step", "must be in [0, 100)")
            p = price
            for _ in range(_count(arg("steps"), fail, f"{where}.steps")):
                p = p * (PPM - rate) // PPM
                steps.append(p)
        elif kind == "wick":
            known("down_steps", "depth_pct", "up_steps", "recover_pct")
            depth = _ppm(arg("depth_pct"), fail, f"{where}.depth_pct")
            if not 0 < depth < PPM:
                fail(f"{where}.depth_pct", "must be in (0, 100)")
            recover = _ppm(arg("recover_pct", 100, required=False), fail, f"{where}.recover_pct")
            bottom = price * (PPM - depth) // PPM
            top = bottom + (price - bottom) * recover // PPM
            steps = _line(price, bottom, _count(arg("down_steps"), fail, f"{where}.down_steps"))
            steps += _line(bottom, top, _count(arg("up_steps"), fail, f"{where}.up_steps"))
        elif kind == "stale":
            known("steps", "drift_pct")
            drift = _ppm(arg("drift_pct", 0, required=False), fail, f"{where}.drift_pct")
            steps = _line(price, price * (PPM + drift) // PPM, _count(arg("steps"), fail, f"{where}.steps"))
            update = False
        elif kind == "points":
            if not isinstance(args, list) or not args:
                fail(where, "expected a non-empty list of prices")
            steps = [_usd(v, decimals, fail, f"{where}[{j}]") for j, v in enumerate(args)]
        elif kind == "csv":
            known("file", "column", "scale")
            steps = _read_csv(base_dir / str(arg("file")), str(arg("column", "price", required=False)),
                              arg("scale", 1, required=False), decimals, fail, where)
        for j, p in enumerate(steps):
            if p <= 0:
                fail(where, f"step {j + 1} of this segment has price {p} (feed units): prices must stay positive")
        out.extend(PriceStep(p, update) for p in steps)
        if steps:
            price = steps[-1]
    return out


def _read_csv(path: Path, column: str, scale, decimals: int, fail, where) -> List[int]:
    if not path.exists():
        fail(f"{where}.file", f"{path} does not exist")
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        fail(f"{where}.file", f"{path} has no rows")
    if column not in rows[0]:
        fail(f"{where}.column", f"{path} has no column {column!r} (columns: {', '.join(rows[0])})")
    try:
        factor = Decimal(str(scale))
    except InvalidOperation:
        fail(f"{where}.scale", f"expected a number, got {scale!r}")
    out = []
    for n, row in enumerate(rows, start=2):
        try:
            value = Decimal(row[column].strip()) * factor
        except (InvalidOperation, AttributeError):
            fail(f"{where}.file", f"{path.name} line {n}: {row[column]!r} is not a price")
        out.append(int((value * 10**decimals).to_integral_value()))
    return out
