"""The model's mutants, from cosmic-ray's operators.

cosmic-ray finds and applies each mutation (its operators over parso's
tree, `mutate_code`); the result is turned back into one span edit of the
file (common prefix and suffix dropped), so model mutants have the same
shape, ids, sandboxes and report as the contracts' and run through the same
probe. cosmic-ray's own runner is not used: it edits the module in place
and runs mutants one after another.
"""
import ast
import fnmatch
from pathlib import Path
from typing import Iterable, List, Optional

import cosmic_ray.plugins
from cosmic_ray.ast import ast_nodes, get_ast
from cosmic_ray.mutating import mutate_code

from .mutant import Mutant

# The counterparts of the contracts' operators, and a few that only Python
# has (boolean connectives, `not`, loops that never run). `--model-operators
# all` takes every operator cosmic-ray ships.
DEFAULT_OPERATORS = (
    "core/ReplaceComparisonOperator_Lt_LtE", "core/ReplaceComparisonOperator_LtE_Lt",
    "core/ReplaceComparisonOperator_Gt_GtE", "core/ReplaceComparisonOperator_GtE_Gt",
    "core/ReplaceComparisonOperator_Eq_NotEq", "core/ReplaceComparisonOperator_NotEq_Eq",
    "core/ReplaceBinaryOperator_Add_Sub", "core/ReplaceBinaryOperator_Sub_Add",
    "core/ReplaceBinaryOperator_Mul_FloorDiv", "core/ReplaceBinaryOperator_FloorDiv_Mul",
    "core/NumberReplacer", "core/ReplaceAndWithOr", "core/ReplaceOrWithAnd",
    "core/ReplaceTrueWithFalse", "core/ReplaceFalseWithTrue",
    "core/ReplaceUnaryOperator_Delete_Not", "core/ReplaceUnaryOperator_Delete_USub",
    "core/AddNot", "core/ZeroIterationForLoop",
)


def operator_names(which: str = "default") -> List[str]:
    available = set(cosmic_ray.plugins.operator_names())
    names = sorted(available) if which == "all" else [n for n in DEFAULT_OPERATORS if n in available]
    # Operators that take arguments need a configuration this tool does not invent.
    return [n for n in names if not cosmic_ray.plugins.get_operator(n).arguments()]


def _span(before: str, after: str):
    a = 0
    limit = min(len(before), len(after))
    while a < limit and before[a] == after[a]:
        a += 1
    b = 0
    while b < limit - a and before[-1 - b] == after[-1 - b]:
        b += 1
    return a, len(before) - b, after[a:len(after) - b]


_OP = set("<>=!+-*/%&|^~")


def _widen(before: str, after: str, start: int, end: int):
    """Grow a minimal edit to whole tokens (`<` -> `<=` rather than `` -> `=`),
    so the report shows what an engineer would call the change."""
    tail = len(before) - end        # the same suffix length in both texts
    def cls(c):
        return "op" if c in _OP else "word" if (c.isalnum() or c == "_") else None
    changed = before[start:end] + after[start:len(after) - tail]
    kinds = {cls(c) for c in changed} - {None} or {cls(before[start - 1]) if start else None}
    while start > 0 and cls(before[start - 1]) in kinds and cls(before[start - 1]) is not None:
        start -= 1
    while tail > 0 and cls(before[len(before) - tail]) in kinds and cls(before[len(before) - tail]) is not None:
        tail -= 1
    return start, len(before) - tail, after[start:len(after) - tail]


def _short(name: str) -> str:
    return name.split("/", 1)[-1]


def model_mutants(root: Path, files_glob: Optional[str] = None, operators: Iterable[str] = None) -> List[Mutant]:
    root = root.resolve()
    out: List[Mutant] = []
    ops = list(operators or operator_names())
    for path in sorted((root / "model").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if files_glob and not any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(path.name, p)
                                  for p in files_glob.split(",")):
            continue
        text = path.read_text()
        module = get_ast(text)
        functions = sorted(((f.lineno, f.end_lineno, f.name) for f in ast.walk(ast.parse(text))
                            if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))),
                           key=lambda f: f[1] - f[0])
        for name in ops:
            operator = cosmic_ray.plugins.get_operator(name)()
            count = sum(1 for node in ast_nodes(module) for _ in operator.mutation_positions(node))
            for occurrence in range(count):
                mutated = mutate_code(text, operator, occurrence)
                if mutated is None or mutated == text:
                    continue
                start, end, _ = _span(text, mutated)
                start, end, replacement = _widen(text, mutated, start, end)
                line = text.count("\n", 0, start) + 1
                col = start - (text.rfind("\n", 0, start) + 1)
                m = Mutant("model", rel, _short(name), start, end, text[start:end], replacement, line, col,
                           extra={"cosmic_ray_operator": name, "occurrence": occurrence})
                inside = [fn for a, b, fn in functions if a <= line <= b]      # innermost first
                if inside:
                    m.extra["function"] = inside[0]
                out.append(m)
    return out


def same_program(before: str, after: str) -> bool:
    """Python's own AST (no positions) unchanged: the edit cannot change behaviour."""
    try:
        return ast.dump(ast.parse(before)) == ast.dump(ast.parse(after))
    except SyntaxError:
        return False


def compiles(after: str) -> Optional[str]:
    try:
        compile(after, "<mutant>", "exec")
    except SyntaxError as err:
        return f"SyntaxError: {err}"
    return None
