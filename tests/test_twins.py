"""The model twins every contract, name for name: this test keeps it so.

Part 1, the ABI. Each deployable contract is compiled (harness.chains.artifacts)
and every function and event of its ABI must have a twin on the model
class mapped to it in TWINS:
  - a function: a method of the same name taking as many positional
    arguments as the ABI has inputs (`self` and the keyword-only `sender`,
    the model's msg.sender, aside; a defaulted argument may be left out);
    or, for a public variable's getter, an attribute: a journaled Mapping
    with as many keys (Mapping.arity), any other value for no inputs;
  - an event: a model Event dataclass of the same name with the ABI's
    field names, in order, defined in a module of the twin's classes.
ABI_WITHOUT_TWIN lists the few with none, each with its reason.

Part 2, the sources. For each contract source, every internal function
(constructors aside), constant, struct and event it declares must be
found in its twin model module (SOURCE_TWINS; contracts/modules/X.vy twins
model/X.py) with the same argument count, the same value (the constant's
expression is folded from the Vyper AST, never copied here), the same
fields. Externals are part 1's (on a deployed twin, where one may be a
public mapping's getter). The rule, one for before and after the split:
  - a name is looked up in the twin module's namespace: its own names,
    what it imports, and the methods of the contract class it defines
    (with its mixins), so Engine.vy's own internals (_market_now,
    _release) are found on model/engine.py's Engine;
  - for a file under contracts/modules/ the name must moreover be defined
    in that very model file (a function's __module__, a constant or class
    assigned in the file's own source): each module is held file for
    file, and a name drifting from its module to another fails here.
Mock contracts (MockUSDC, MockAggregator, MockFiatToken, contracts/mocks/) are devnet
scaffolding: their ABI is twinned in part 1, their internals are not rules.
"""
import ast
import dataclasses
import importlib
import inspect
from pathlib import Path

import pytest
import vyper.ast as vy_ast

from harness.chains.artifacts import CONTRACTS, artifact
from model import Protocol
from model.adversaries import BundleAttacker, FlashLender
from model.aggregator import MockAggregator
from model.engine import Engine
from model.env import ZERO_ADDRESS
from model.events import Event
from model.fiat_token import FiatToken
from model.journal import Mapping
from model.lens import Lens
from model.market_rules import MarketRules
from model.orders import OrderBook
from model.pool import LiquidityPool
from model.timelock import Timelock
from model.token import Token
from model.vault import Vault

# contract -> (its model twin in a deployed Protocol, the model classes whose modules hold its events)
TWINS = {
    "Engine": (lambda p: p.engine, (Engine,)),
    "Vault": (lambda p: p.engine._vault_at(p.engine.INSURANCE), (Vault,)),
    # The pool's shares are a snekmate erc20 inside it: model.token.Token.
    "LiquidityPool": (lambda p: p.pool, (LiquidityPool, Token)),
    "Lens": (lambda p: p.lens, (Lens,)),
    "OrderBook": (lambda p: p.orders, (OrderBook,)),
    "MarketRules": (lambda p: p.rules, (MarketRules,)),
    "MockUSDC": (lambda p: p.token, (Token,)),
    "MockAggregator": (lambda p: p.engine.feeds["feed"], (MockAggregator,)),
    # Not in the standard world: a second token on the same journal.
    "MockFiatToken": (lambda p: FiatToken(p.journal, "fiat", master_minter="owner", pauser="owner",
                                          blacklister="owner", owner="owner"), (FiatToken,)),
    # The state machine's attackers (contracts/adversaries/), twinned so it compares their outcomes too.
    "BundleAttacker": (lambda p: BundleAttacker(p.journal, "bundle", "owner", p.token, p.contracts,
                                                lambda target, data: None), (BundleAttacker,)),
    "FlashLender": (lambda p: FlashLender(p.journal, "lender", p.token, p.contracts), (FlashLender,)),
    # The engine's owner on a live deployment (harness/live/netdeploy.py); its roles are access_control's.
    "Timelock": (lambda p: Timelock(p.journal, p.env, "timelock", p.contracts, lambda target, data: None, 0,
                                    ["owner"], ["owner"], ZERO_ADDRESS, sender="owner"), (Timelock,)),
}

_SIGNATURES = "EIP-2612/EIP-712 signatures: the model holds no keys and no chain id, and nothing it twins signs"
ABI_WITHOUT_TWIN = {
    ("MockUSDC", "permit"): _SIGNATURES,
    ("MockUSDC", "DOMAIN_SEPARATOR"): _SIGNATURES,
    ("MockUSDC", "eip712Domain"): _SIGNATURES,
    ("MockFiatToken", "permit"): _SIGNATURES,
    ("MockFiatToken", "DOMAIN_SEPARATOR"): _SIGNATURES,
    ("LiquidityPool", "permit"): _SIGNATURES,
    ("LiquidityPool", "DOMAIN_SEPARATOR"): _SIGNATURES,
    ("LiquidityPool", "eip712Domain"): _SIGNATURES,
}

# Deployable contract sources (the top of contracts/; mocks/ apart) and their model modules;
# contracts/modules/X.vy -> model/X.py.
SOURCE_TWINS = {"Engine.vy": "engine", "LiquidityPool.vy": "pool", "Vault.vy": "vault", "Lens.vy": "lens",
                "OrderBook.vy": "orders", "Timelock.vy": "timelock", "MarketRules.vy": "market_rules"}


# ---------------------------------------------------------------- arity

def _positional(params) -> tuple:
    """(required, total) positional parameters, keyword-only ones aside."""
    pos = [q for q in params if q.kind in (q.POSITIONAL_ONLY, q.POSITIONAL_OR_KEYWORD)]
    return sum(q.default is q.empty for q in pos), len(pos)


def _method_arity(fn, bound: bool) -> tuple:
    params = list(inspect.signature(fn).parameters.values())
    if not bound:
        params = params[1:]          # self
    return _positional(params)


def _fits(arity: tuple, n: int) -> bool:
    return arity[0] <= n <= arity[1]


def _show(arity: tuple) -> str:
    return str(arity[0]) if arity[0] == arity[1] else f"{arity[0]}..{arity[1]}"


# ---------------------------------------------------------------- part 1: ABI

def _world() -> Protocol:
    p = Protocol(deployer="owner", guardian="guardian")
    p.add_feed("feed", 8, 2_000 * 10**8)
    return p


def _model_events(classes) -> dict:
    out = {}
    for cls in classes:
        for klass in cls.__mro__:
            for value in vars(importlib.import_module(klass.__module__)).values():
                if isinstance(value, type) and issubclass(value, Event) and value is not Event:
                    out[value.__name__] = value
    return out


def abi_problems(contract: str, abi: list, twin, event_classes) -> list:
    problems = []
    events = _model_events(event_classes)
    where = f"{type(twin).__module__}.{type(twin).__name__}"
    for item in abi:
        name, n = item.get("name"), len(item.get("inputs", []))
        if item["type"] == "function":
            if (contract, name) in ABI_WITHOUT_TWIN:
                continue
            if not hasattr(twin, name):
                problems.append(f"{contract}.{name} ({n} inputs): no twin on {where}")
                continue
            value = getattr(twin, name)
            if isinstance(value, Mapping):
                arity = (value.arity, value.arity)
            elif callable(value):
                arity = _method_arity(value, bound=True)
            else:
                arity = (0, 0)
            if not _fits(arity, n):
                problems.append(f"{contract}.{name}: {n} ABI inputs, {where}.{name} takes {_show(arity)}")
        elif item["type"] == "event":
            fields = [i["name"] for i in item["inputs"]]
            cls = events.get(name)
            if cls is None:
                problems.append(f"{contract} event {name}{tuple(fields)}: no model Event of that name "
                                f"in the modules of {[c.__name__ for c in event_classes]}")
            elif list(cls.__dataclass_fields__) != fields:
                problems.append(f"{contract} event {name}: ABI fields {fields}, "
                                f"{cls.__module__}.{name} has {list(cls.__dataclass_fields__)}")
    return problems


@pytest.mark.parametrize("contract", sorted(TWINS))
def test_every_abi_function_and_event_has_a_model_twin(contract):
    get_twin, event_classes = TWINS[contract]
    problems = abi_problems(contract, artifact(contract)["abi"], get_twin(_world()), event_classes)
    assert not problems, "\n".join(problems)


def test_the_allow_list_is_still_needed():
    for (contract, name), reason in ABI_WITHOUT_TWIN.items():
        assert reason
        assert any(i.get("name") == name for i in artifact(contract)["abi"]), \
            f"{contract}.{name} is allow-listed but no longer in its ABI: drop it from ABI_WITHOUT_TWIN"


# ---------------------------------------------------------------- part 2: sources

def sources() -> list:
    """(source path, model module name, strict) for every contract source with a twin module."""
    out = []
    for path in sorted(CONTRACTS.glob("*.vy")):
        assert path.name in SOURCE_TWINS, f"contracts/{path.name}: no twin model module named in SOURCE_TWINS"
        out.append((path, SOURCE_TWINS[path.name], False))
    for path in sorted((CONTRACTS / "modules").glob("*.vy")):
        out.append((path, path.stem, True))
    return out


_UNITS = {"uint": lambda bits: (0, 2**bits - 1), "int": lambda bits: (-2**(bits - 1), 2**(bits - 1) - 1)}
_BINOPS = {"Add": lambda a, b: a + b, "Sub": lambda a, b: a - b, "Mult": lambda a, b: a * b,
           "FloorDiv": lambda a, b: a // b, "Div": lambda a, b: a // b, "Mod": lambda a, b: a % b,
           "Pow": lambda a, b: a ** b, "LShift": lambda a, b: a << b, "RShift": lambda a, b: a >> b,
           "BitAnd": lambda a, b: a & b, "BitOr": lambda a, b: a | b, "BitXor": lambda a, b: a ^ b}


def _type_bounds(name: str) -> tuple:
    for prefix in ("uint", "int"):
        if name.startswith(prefix) and name[len(prefix):].isdigit():
            return _UNITS[prefix](int(name[len(prefix):]))
    raise ValueError(f"cannot fold bounds of type {name}")


def _parse(path: Path):
    return vy_ast.parse_to_ast(path.read_text(), source_id=0, resolved_path=str(path))


def constants_of(path: Path) -> dict:
    """name -> folded int value of every constant the file declares."""
    decls = {n.target.id: n.value for n in _parse(path).body
             if isinstance(n, vy_ast.VariableDecl) and n.is_constant}
    values = {}

    def fold(node):
        kind = type(node).__name__
        if kind in ("Int", "Hex"):
            return int(node.value, 16) if isinstance(node.value, str) else node.value
        if kind == "Str":
            return node.value
        if kind == "UnaryOp" and type(node.op).__name__ == "USub":
            return -fold(node.operand)
        if kind == "UnaryOp" and type(node.op).__name__ == "Invert":
            return ~fold(node.operand)
        if kind == "BinOp":
            return _BINOPS[type(node.op).__name__](fold(node.left), fold(node.right))
        if kind == "Name":
            if node.id not in values:
                values[node.id] = fold(decls[node.id])
            return values[node.id]
        if kind == "Attribute" and type(node.value).__name__ == "Name":
            # module.CONSTANT, from a sibling module's source
            return constants_of(path.parent / f"{node.value.id}.vy")[node.attr]
        if kind == "Call" and node.func.id in ("max_value", "min_value"):
            low, high = _type_bounds(node.args[0].id)
            return high if node.func.id == "max_value" else low
        raise ValueError(f"{path.name}: cannot fold {kind} {getattr(node, 'node_source_code', '')!r}")

    for name, node in decls.items():
        if name not in values:
            values[name] = fold(node)
    return values


def _assigned_in(module) -> set:
    """Names a model file binds itself (not by import)."""
    tree = ast.parse(Path(module.__file__).read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                if isinstance(t, ast.Name):
                    names.add(t.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
    return names


def _lookup(module, name: str):
    """(object, arity or None) for `name` in the module's namespace or its contract classes' attributes."""
    if name in vars(module):
        obj = vars(module)[name]
        return obj, (_method_arity(obj, bound=True) if callable(obj) and not isinstance(obj, type) else None)
    for cls in vars(module).values():
        if isinstance(cls, type) and cls.__module__ == module.__name__ and not dataclasses.is_dataclass(cls):
            try:
                raw = inspect.getattr_static(cls, name)
            except AttributeError:
                continue
            if isinstance(raw, staticmethod):
                return raw.__func__, _method_arity(raw.__func__, bound=True)
            if inspect.isfunction(raw):
                return raw, _method_arity(raw, bound=False)
    return None, None


def _is_external(node) -> bool:
    return any(getattr(d, "id", None) == "external" for d in node.decorator_list)


def source_problems(path: Path, module_name: str, strict: bool) -> list:
    module = importlib.import_module(f"model.{module_name}")
    own = _assigned_in(module)
    src = path.relative_to(CONTRACTS.parent) if path.is_relative_to(CONTRACTS.parent) else path.name
    where = f"model/{module_name}.py"
    problems = []
    tree = _parse(path)
    for node in tree.body:
        if isinstance(node, vy_ast.FunctionDef) and node.name != "__init__" and not _is_external(node):
            n = len(node.args.args)
            obj, arity = _lookup(module, node.name)
            if obj is None:
                problems.append(f"{src}: function {node.name} ({n} args) has no twin in {where}")
            elif arity is not None and not _fits(arity, n):
                problems.append(f"{src}: {node.name} takes {n} args, its twin in {where} {_show(arity)}")
            elif strict and getattr(obj, "__module__", None) != module.__name__:
                problems.append(f"{src}: {node.name} is twinned in {obj.__module__}, not in {where}")
        elif isinstance(node, vy_ast.StructDef) or isinstance(node, vy_ast.EventDef):
            kind = "event" if isinstance(node, vy_ast.EventDef) else "struct"
            fields = [b.target.id for b in node.body if hasattr(b, "target")]
            cls = vars(module).get(node.name)
            if not dataclasses.is_dataclass(cls):
                problems.append(f"{src}: {kind} {node.name} has no dataclass twin in {where}")
            elif list(cls.__dataclass_fields__) != fields:
                problems.append(f"{src}: {kind} {node.name} fields {fields}, {where} has "
                                f"{list(cls.__dataclass_fields__)}")
            elif strict and node.name not in own:
                problems.append(f"{src}: {kind} {node.name} is defined in {cls.__module__}, not in {where}")
    for name, value in constants_of(path).items():
        if name not in vars(module):
            problems.append(f"{src}: constant {name} = {value} has no twin in {where}")
        elif vars(module)[name] != value:
            problems.append(f"{src}: constant {name} = {value}, but {where} has {vars(module)[name]!r}")
        elif strict and name not in own:
            problems.append(f"{src}: constant {name} is imported into {where}, not defined there")
    return problems


@pytest.mark.parametrize("path, module_name, strict", sources(), ids=lambda x: getattr(x, "name", str(x)))
def test_every_function_constant_struct_and_event_of_a_source_has_a_model_twin(path, module_name, strict):
    problems = source_problems(path, module_name, strict)
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- part 3: natspec

def natspec_problems(path: Path) -> list:
    """Every function of a contract source opens with natspec, as snekmate's
    do: a @notice or @dev, a @param for each parameter, a @return when it
    returns. Constructors and mocks included: a reader starts anywhere."""
    problems = []
    for fn in _parse(path).get_children(vy_ast.FunctionDef):
        where = f"{path.relative_to(CONTRACTS.parent)}:{fn.lineno} {fn.name}"
        doc = fn.doc_string.value if getattr(fn, "doc_string", None) is not None else ""
        if "@notice" not in doc and "@dev" not in doc:
            problems.append(f"{where}: no @notice or @dev")
        for arg in fn.args.args:
            if f"@param {arg.arg}" not in doc:
                problems.append(f"{where}: no @param {arg.arg}")
        if fn.returns is not None and "@return" not in doc:
            problems.append(f"{where}: no @return")
    return problems


@pytest.mark.parametrize("path", sorted(CONTRACTS.rglob("*.vy")), ids=lambda p: p.relative_to(CONTRACTS).as_posix())
def test_every_contract_function_has_natspec(path):
    problems = natspec_problems(path)
    assert not problems, "\n".join(problems)
