"""`./isomargin mutate` and `ape run mutate`: mutation testing of the
contracts (default) or of the model (`--model`).

    ./isomargin mutate [--sample N --seed S] [--contracts GLOB] [--jobs J] [--timeout T] [--check]
    ./isomargin mutate --model [--sample N --seed S] [--contracts GLOB] ...

Writes reports/mutation/{contracts,model}.{json,md}. With --check, exits 1
naming every survivor not listed in tests/mutation/equivalents.yaml.
"""
import argparse
import os
import hashlib
import sys
import time
from pathlib import Path
from typing import List

from . import equivalents, report
from .mutant import Mutant
from .operators import OPERATORS

ROOT = Path(__file__).resolve().parents[2]


def parse(argv):
    p = argparse.ArgumentParser(prog="isomargin mutate", description=__doc__.splitlines()[0])
    p.add_argument("--model", action="store_true", help="mutate model/ (cosmic-ray's operators) instead of contracts/")
    p.add_argument("--sample", type=int, default=None, metavar="N", help="run N mutants drawn with --seed")
    p.add_argument("--seed", type=int, default=1, metavar="S")
    p.add_argument("--contracts", default=None, metavar="GLOB",
                   help="only these files (comma-separated globs, e.g. 'modules/*.vy'; with --model, 'model/risk.py')")
    p.add_argument("--operators", default=None, help="comma-separated operator names (default: all)")
    p.add_argument("--model-operators", default="default", choices=["default", "all"],
                   help="cosmic-ray operator set for --model")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="J")
    p.add_argument("--timeout", type=float, default=None, metavar="T",
                   help="seconds per mutant (default: 3x the baseline's run, at least 120)")
    p.add_argument("--examples", type=int, default=30, help="stateful fast path: examples per mutant")
    p.add_argument("--steps", type=int, default=30, help="stateful fast path: steps per example")
    p.add_argument("--no-unit", action="store_true", help="stateful fast path only, no pytest stage")
    p.add_argument("--check", action="store_true",
                   help="exit 1 naming any survivor not listed in the equivalents file")
    p.add_argument("--equivalents", type=Path, default=ROOT / equivalents.DEFAULT)
    p.add_argument("--skip-reviewed", action="store_true",
                   help="do not run mutants already reviewed equivalent (their ids are unchanged, so their review "
                        "stands): the CI sample's time goes to the rest")
    p.add_argument("--list", action="store_true", help="list the selected mutants and exit")
    p.add_argument("--out", type=Path, default=ROOT / "reports" / "mutation")
    p.add_argument("--keep", action="store_true", help="keep the sandbox copies (debugging)")
    return p.parse_args(argv)


def select(args) -> List[Mutant]:
    if args.model:
        from .pymutants import model_mutants, operator_names
        ops = args.operators.split(",") if args.operators else operator_names(args.model_operators)
        ops = [o if "/" in o else f"core/{o}" for o in ops]
        mutants = model_mutants(ROOT, args.contracts, ops)
    else:
        from .generate import contract_mutants
        ops = args.operators.split(",") if args.operators else list(OPERATORS)
        unknown = set(ops) - set(OPERATORS)
        if unknown:
            sys.exit(f"unknown operators {sorted(unknown)}; known: {', '.join(OPERATORS)}")
        mutants = contract_mutants(ROOT, args.contracts, ops)
    if args.sample is not None and args.sample < len(mutants):
        # Each mutant's rank is a hash of the seed and its id: the N lowest
        # are the sample. A mutant added or removed elsewhere then changes
        # the sample by at most that one, so a reviewed sample stays
        # reviewed while the contracts around it change.
        def rank(m):
            return hashlib.sha256(f"{args.seed}:{m.id}".encode()).hexdigest()
        mutants = sorted(mutants, key=rank)[:args.sample]
    return sorted(mutants, key=lambda m: (m.path, m.start, m.operator, m.replacement))


def _row(m: Mutant, result: dict) -> dict:
    text = (ROOT / m.path).read_text()
    row = m.to_json()
    row.update(where=m.where, diff=m.diff(text), status=result.get("status"), killed_by=result.get("killed_by"),
               detail=result.get("detail"), seconds=result.get("seconds"), timings=result.get("timings", {}),
               stage=result.get("stage"))
    if result.get("status") == "equivalent":
        row["equivalence"] = result.get("equivalence", "bytecode")
    return row


def main(argv=None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    kind = "model" if args.model else "contract"
    t0 = time.perf_counter()
    mutants = select(args)
    print(f"mutate: {len(mutants)} {kind} mutants selected"
          + (f" (sample {args.sample}, seed {args.seed})" if args.sample is not None else " (all)"), flush=True)
    if args.list:
        for m in mutants:
            print(f"{m.id} {m.operator:22s} {m.where:40s} {m.original!r} -> {m.replacement!r}")
        return 0

    from .runner import BaselineFailed, Config, Runner
    cfg = Config(jobs=args.jobs, timeout=args.timeout, examples=args.examples, steps=args.steps,
                 unit=not args.no_unit, keep=args.keep)
    decided, live = {}, []
    if kind == "model":
        from .pymutants import compiles, same_program
        for m in mutants:
            text = (ROOT / m.path).read_text()
            after = m.apply(text)
            bad = compiles(after)
            if bad:
                decided[m.id] = {"status": "not-compiling", "detail": bad}
            elif same_program(text, after):
                decided[m.id] = {"status": "equivalent", "equivalence": "ast",
                                 "detail": "identical Python AST"}
            else:
                live.append(m)
    else:
        live = list(mutants)
    if args.skip_reviewed:
        # An id hashes the file, span and replacement: an unchanged id is
        # the very mutant that was reviewed, and running it again (a whole
        # unit suite, as every survivor) would only confirm the review.
        reviewed = equivalents.load(args.equivalents)
        for m in [m for m in live if m.id in reviewed]:
            decided[m.id] = {"status": "equivalent", "equivalence": "reviewed, not re-run",
                             "detail": str(reviewed[m.id]["reason"]).strip()}
        live = [m for m in live if m.id not in reviewed]

    runner = Runner(ROOT, cfg, log=lambda s: print(s, flush=True))
    name = "model" if args.model else "contracts"
    results = dict(decided)
    meta = {
        "selection": (f"sample of {args.sample} (seed {args.seed})" if args.sample is not None else "every mutant")
        + (f", files {args.contracts}" if args.contracts else ""),
        "stages": ("build, " if kind == "contract" else "") + f"stateful fast path ({args.examples} examples x "
        f"{args.steps} steps, derandomized)" + ("" if args.no_unit else ", then " + "; ".join(
            " ".join(g) for g in __import__("harness.mutate.runner", fromlist=["PYTEST"]).PYTEST[kind])),
        "jobs": args.jobs,
    }

    def rows():
        return [_row(m, results[m.id]) for m in mutants if m.id in results]

    def save(final=False):
        rs = rows()
        reviewed = equivalents.load(args.equivalents)
        equivalents.apply(rs, reviewed)
        rep = report.build(kind, rs, {**meta, "seconds": round(time.perf_counter() - t0, 1),
                                      "complete": final, "cores": os.cpu_count()})
        return rep, rs, report.write(rep, args.out, name)

    try:
        from harness.chains.artifacts import CONTRACT_NAMES
        from .sources import analyse
        deployables = sorted(analyse(ROOT).deployables) if kind == "contract" else list(CONTRACT_NAMES)
        runner.baseline(kind, deployables)
        meta["timeout"] = runner.default_timeout(kind)
        meta["baseline"] = runner.baseline_timings.get(kind)
        count = [0]

        def on_result(m, r):
            results[m.id] = r
            count[0] += 1
            if count[0] % 5 == 0:
                save()

        runner.run(live, on_result)
    except BaselineFailed as err:
        print(f"mutate: {err}", file=sys.stderr)
        return 2
    finally:
        runner.close()
    rep, rs, (j, md) = save(final=True)
    t = rep["totals"]
    print(f"mutate: {t.get('mutants', 0)} mutants: {t.get('killed', 0)} killed, {t.get('survived', 0)} survived, "
          f"{t.get('equivalent', 0)} equivalent, {t.get('not-compiling', 0)} not compiling, "
          f"{t.get('timeout', 0)} timeout, {t.get('error', 0)} error; kill rate "
          f"{report._pct(t.get('kill_rate'))}; {rep['seconds']} s\n  {j}\n  {md}")
    if args.check:
        bad = equivalents.failures(rs)
        if bad:
            print(f"mutate --check: {len(bad)} mutant(s) survived and are not in {args.equivalents}:",
                  file=sys.stderr)
            for r in bad:
                print(f"  {r['id']} {r['operator']} {r['where']}: {r['original']!r} -> {r['replacement']!r}"
                      f" [{r['status']}]", file=sys.stderr)
            print("kill each with a sharper strategy, invariant or test, or, if it changes no behaviour, "
                  f"add it to {args.equivalents.name} with the reason, e.g.:", file=sys.stderr)
            import yaml
            print(yaml.safe_dump({"equivalents": [equivalents.entry_for(r) for r in bad]}, sort_keys=False),
                  file=sys.stderr)
            return 1
        print("mutate --check: no unlisted survivor")
    return 0
