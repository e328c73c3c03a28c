"""Mutation operators over Vyper's AST.

Each operator looks at a typed module (sources.py) and proposes source-span
edits: replace `source[start:end]` with `replacement`. Editing the text
rather than regenerating code from the AST keeps every diff one token or
one statement wide, and keeps comments, layout and line numbers, so a
failing test's traceback still points at the right line.
"""
import re
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, Iterator, List, Set

import vyper.ast as vy_ast


@dataclass(frozen=True)
class Edit:
    operator: str
    start: int            # character offsets into the file's source
    end: int
    replacement: str
    line: int
    col: int


class Source:
    """A file's text with line/column <-> offset arithmetic."""

    def __init__(self, text: str):
        self.text = text
        self._line_starts = [0]
        for line in text.splitlines(keepends=True):
            self._line_starts.append(self._line_starts[-1] + len(line))

    def offset(self, line: int, col: int) -> int:
        return self._line_starts[line - 1] + col

    def span(self, node) -> tuple:
        return self.offset(node.lineno, node.col_offset), self.offset(node.end_lineno, node.end_col_offset)

    def of(self, node) -> str:
        a, b = self.span(node)
        return self.text[a:b]

    def edit(self, operator: str, start: int, end: int, replacement: str) -> Edit:
        line = self.text.count("\n", 0, start) + 1
        col = start - self._line_starts[line - 1]
        return Edit(operator, start, end, replacement, line, col)


def _blank_comments(text: str) -> str:
    # Keep offsets: a comment between two operands may itself hold "-" or "<".
    return re.sub(r"#[^\n]*", lambda m: " " * len(m.group(0)), text)


# Token patterns that do not match inside a longer token ("<" in "<=", "*" in "**", "/" in "//").
_TOKENS = {
    "<": r"<(?![=<])", "<=": r"<=", ">": r"(?<!-)>(?![=>])", ">=": r">=", "==": r"==", "!=": r"!=",
    "+": r"\+(?!=)", "-": r"-(?!=)", "*": r"(?<!\*)\*(?![*=])", "//": r"//(?!=)",
    "+=": r"\+=", "-=": r"-=", "*=": r"\*=", "//=": r"//=",
}


def _token_between(src: Source, left, right, token: str):
    """Offsets of the operator token between two operand nodes."""
    a = src.span(left)[1]
    b = src.span(right)[0]
    m = re.search(_TOKENS[token], _blank_comments(src.text[a:b]))
    if m is None:
        return None
    return a + m.start(), a + m.end()


# ---------------------------------------------------------------- operators

def _sorted(nodes: Iterable) -> List:
    return sorted(nodes, key=lambda n: (n.lineno, n.col_offset, n.end_lineno, n.end_col_offset))


BOUNDARY = {vy_ast.Lt: ("<", "<="), vy_ast.LtE: ("<=", "<"), vy_ast.Gt: (">", ">="), vy_ast.GtE: (">=", ">")}
EQUALITY = {vy_ast.Eq: ("==", "!="), vy_ast.NotEq: ("!=", "==")}
ARITH = {vy_ast.Add: ("+", "-"), vy_ast.Sub: ("-", "+"), vy_ast.Mult: ("*", "//"), vy_ast.FloorDiv: ("//", "*")}
AUG = {vy_ast.Add: ("+=", "-="), vy_ast.Sub: ("-=", "+="), vy_ast.Mult: ("*=", "//="), vy_ast.FloorDiv: ("//=", "*=")}


def _swap_compare(name: str, table: dict) -> Callable:
    def op(module, src: Source) -> Iterator[Edit]:
        for node in _sorted(module.get_descendants(vy_ast.Compare)):
            pair = table.get(type(node.op))
            if pair is None:
                continue
            at = _token_between(src, node.left, node.right, pair[0])
            if at:
                yield src.edit(name, at[0], at[1], pair[1])
    return op


def arithmetic(module, src: Source) -> Iterator[Edit]:
    """+ <-> -, * <-> // (also as += -=, *= //=)."""
    for node in _sorted(module.get_descendants((vy_ast.BinOp, vy_ast.AugAssign))):
        if isinstance(node, vy_ast.BinOp):
            pair, left, right = ARITH.get(type(node.op)), node.left, node.right
        else:
            pair, left, right = AUG.get(type(node.op)), node.target, node.value
        if pair is None:
            continue
        at = _token_between(src, left, right, pair[0])
        if at:
            yield src.edit("arithmetic", at[0], at[1], pair[1])


def _ceil_parts(src: Source, node):
    """(x, d) when `node` is `(x + d - 1) // d`, the project's ceiling idiom."""
    if not (isinstance(node, vy_ast.BinOp) and isinstance(node.op, vy_ast.FloorDiv)):
        return None
    num = node.left
    if not (isinstance(num, vy_ast.BinOp) and isinstance(num.op, vy_ast.Sub)
            and isinstance(num.right, vy_ast.Int) and num.right.value == 1):
        return None
    inner = num.left
    if not (isinstance(inner, vy_ast.BinOp) and isinstance(inner.op, vy_ast.Add)):
        return None
    d = src.of(node.right).strip()
    if src.of(inner.right).strip() == d:
        return inner.left, node.right
    if src.of(inner.left).strip() == d:
        return inner.right, node.right
    return None


def rounding(module, src: Source) -> Iterator[Edit]:
    """ceil <-> floor: `(x + d - 1) // d` -> `(x) // d`, and `x // d` -> `(x + d - 1) // d`."""
    ceil_numerators = set()
    for node in _sorted(module.get_descendants(vy_ast.BinOp)):
        parts = _ceil_parts(src, node)
        if parts:
            x, _ = parts
            a, b = src.span(node.left)
            ceil_numerators.add((a, b))
            yield src.edit("rounding", a, b, src.of(x))
    for node in _sorted(module.get_descendants(vy_ast.BinOp)):
        if not isinstance(node.op, vy_ast.FloorDiv) or _ceil_parts(src, node):
            continue
        a, b = src.span(node.left)
        d = src.of(node.right)
        if not isinstance(node.right, (vy_ast.Name, vy_ast.Int, vy_ast.Attribute)):
            d = f"({d})"
        yield src.edit("rounding", a, b, f"({src.of(node.left)} + {d} - 1)")


def remove_assert(module, src: Source) -> Iterator[Edit]:
    for node in _sorted(module.get_descendants(vy_ast.Assert)):
        a, b = src.span(node)
        yield src.edit("remove-assert", a, b, "pass")


def _storage_roots(module) -> Set[str]:
    """Names whose attributes are storage: `self` and every imported module (its state)."""
    roots = {"self"}
    for node in module.get_descendants((vy_ast.Import, vy_ast.ImportFrom)):
        alias = getattr(node, "alias", None) or getattr(node, "name", None)
        if alias:
            roots.add(alias.split(".")[-1])
    return roots


def _root_name(node):
    while isinstance(node, (vy_ast.Attribute, vy_ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, vy_ast.Name) else None


def remove_state_write(module, src: Source) -> Iterator[Edit]:
    """An assignment (or +=) to storage, replaced by `pass`."""
    roots = _storage_roots(module)
    for node in _sorted(module.get_descendants((vy_ast.Assign, vy_ast.AugAssign))):
        target = node.target
        if not isinstance(target, (vy_ast.Attribute, vy_ast.Subscript)):
            continue
        if _root_name(target) not in roots:
            continue
        a, b = src.span(node)
        yield src.edit("remove-state-write", a, b, "pass")


def _type_of(node):
    t = node._metadata.get("type") if hasattr(node, "_metadata") else None
    return str(t) if t is not None else None


# Builtins whose arguments are not interchangeable values (types, sizes),
# and min/max, which commute: swapping theirs is equivalent by construction.
_NO_SWAP = {"min", "max", "convert", "empty", "slice", "extract32", "raw_call", "concat", "abi_encode", "abi_decode",
            "method_id", "_abi_encode", "_abi_decode", "create_copy_of", "create_from_blueprint",
            "create_minimal_proxy_to", "range"}


def swap_arguments(module, src: Source) -> Iterator[Edit]:
    """Two arguments of one call with the same type, exchanged."""
    for node in _sorted(module.get_descendants(vy_ast.Call)):
        func = node.func
        if isinstance(func, vy_ast.Name) and func.id in _NO_SWAP:
            continue
        args = node.args
        for i in range(len(args)):
            for j in range(i + 1, len(args)):
                ti, tj = _type_of(args[i]), _type_of(args[j])
                a_i, a_j = src.of(args[i]), src.of(args[j])
                if ti is None or ti != tj or a_i == a_j:
                    continue
                (s0, _), (_, e1) = src.span(args[i]), src.span(args[j])
                middle = src.text[src.span(args[i])[1]:src.span(args[j])[0]]
                yield src.edit("swap-arguments", s0, e1, a_j + middle + a_i)


def _annotation_nodes(module) -> Set[int]:
    """ids of nodes inside type annotations: `String[64]` is no value to nudge."""
    out: Set[int] = set()

    def mark(n):
        if n is None:
            return
        out.add(id(n))
        for d in n.get_descendants():
            out.add(id(d))

    for n in module.get_descendants((vy_ast.VariableDecl, vy_ast.AnnAssign, vy_ast.arg)):
        mark(getattr(n, "annotation", None))
    for n in module.get_descendants(vy_ast.FunctionDef):
        mark(n.returns)
    for n in module.get_descendants((vy_ast.EventDef, vy_ast.StructDef, vy_ast.InterfaceDef)):
        mark(n)
    return out


def constant_off_by_one(module, src: Source) -> Iterator[Edit]:
    skip = _annotation_nodes(module)
    for node in _sorted(module.get_descendants(vy_ast.Int)):
        if id(node) in skip or isinstance(node, vy_ast.Hex):
            continue
        text = src.of(node)
        if not re.fullmatch(r"[0-9_]+", text):
            continue          # hex or scientific literals: out of this operator's scope
        a, b = src.span(node)
        yield src.edit("constant-off-by-one", a, b, str(node.value + 1))
        if node.value > 0:
            yield src.edit("constant-off-by-one", a, b, str(node.value - 1))


def min_max(module, src: Source) -> Iterator[Edit]:
    for node in _sorted(module.get_descendants(vy_ast.Call)):
        func = node.func
        if isinstance(func, vy_ast.Name) and func.id in ("min", "max"):
            a, b = src.span(func)
            yield src.edit("min-max", a, b, "max" if func.id == "min" else "min")


OPERATORS: Dict[str, Callable] = {
    "boundary": _swap_compare("boundary", BOUNDARY),
    "equality": _swap_compare("equality", EQUALITY),
    "arithmetic": arithmetic,
    "rounding": rounding,
    "remove-assert": remove_assert,
    "remove-state-write": remove_state_write,
    "swap-arguments": swap_arguments,
    "constant-off-by-one": constant_off_by_one,
    "min-max": min_max,
}


def edits(module, text: str, operators: Iterable[str] = tuple(OPERATORS)) -> List[Edit]:
    """Every edit the named operators propose for one module, deduplicated
    (two operators can propose the same text change)."""
    src = Source(text)
    seen, out = set(), []
    for name in operators:
        for e in OPERATORS[name](module, src):
            key = (e.start, e.end, e.replacement)
            if key in seen or text[e.start:e.end] == e.replacement:
                continue
            seen.add(key)
            out.append(e)
    return out
