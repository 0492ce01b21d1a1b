"""Questions the compiler asks of the syntax tree, answered without output."""

from __future__ import annotations

from .. import ast
from ..resolve import GlobalRef

COMPARISONS = frozenset(("==", "~=", "<", "<=", ">", ">="))


ERRING_NODES = (ast.Index, ast.Call, ast.MethodCall, ast.BinOp, ast.UnOp, ast.Concat)


def constant_truth(node):
    """The truthiness of a constant expression, or None if not constant."""
    t = type(node)
    if t in (ast.Number, ast.String, ast.TrueExpr):
        return True
    if t in (ast.Nil, ast.FalseExpr):
        return False
    return None


def is_int_literal(node) -> bool:
    return type(node) is ast.Number and type(node.value) is int


def never_nil(node, compiler) -> bool:
    """Can ``node`` be proven non-nil at compile time?"""
    t = type(node)
    return (t in (ast.Number, ast.String, ast.TrueExpr, ast.FalseExpr, ast.Table, ast.Function,
                  ast.Concat) or compiler.is_int(node))


def is_multi(node) -> bool:
    return type(node) in (ast.Call, ast.MethodCall, ast.Vararg)


def call_free_lead(body: ast.Block) -> int:
    """How many of a function's first statements may run before its prologue.

    They must make no call, and hold no ``goto``, label or ``<close>``
    local, so control can only leave them by falling through to the
    prologue, by ``return`` or by an error (see "Accounting").
    """
    if any(type(stat) is ast.Label for stat in body.body):
        return 0
    lead = 0
    left = [LEAD_ITEMS]
    for stat in body.body:
        if not _call_free(stat, left):
            break
        lead += 1
    return lead


#: How much of a function's start ``_call_free`` examines for its lead: a
#: lead is a fast path for small functions, and this walk is not charged to
#: a ``load`` (a 1 MiB table constructor would cost a second of it).
LEAD_ITEMS = 512


#: A generic ``for`` calls its iterator: it ends the lead like a call.
_JUMPS_OR_CALLS = (ast.Call, ast.MethodCall, ast.Goto, ast.Label, ast.GenericFor)


def _call_free(node, left: list) -> bool:
    """No call, jump, label or ``<close>`` in ``node``, closures aside.

    ``left[0]``: how many more items the walk may look at; False (not known
    to be call-free) once they run out.
    """
    pending = [node]
    while pending:
        left[0] -= 1
        if left[0] < 0:
            return False
        item = pending.pop()
        if isinstance(item, (list, tuple)):
            pending.extend(item)
            continue
        if not isinstance(item, ast.Node) or type(item) is ast.Function:
            continue
        if type(item) in _JUMPS_OR_CALLS:
            return False
        if type(item) is ast.Local and "close" in item.attribs:
            return False
        for cls in type(item).__mro__:
            for name in getattr(cls, "__slots__", ()):
                if name not in ("line", "binding", "bindings", "scope", "target"):
                    pending.append(getattr(item, name, None))
    return True


def has_effects(node) -> bool:
    """Could evaluating ``node`` run code or change variables?"""
    t = type(node)
    if t in (ast.Nil, ast.TrueExpr, ast.FalseExpr, ast.Number, ast.String, ast.Vararg, ast.Function):
        return False
    if t is ast.Name:
        return type(node.binding) is GlobalRef
    if t is ast.Paren:
        return has_effects(node.expr)
    if t is ast.UnOp and node.op == "not":
        return has_effects(node.operand)
    if t is ast.BinOp and node.op in ("and", "or"):
        return has_effects(node.left) or has_effects(node.right)
    return True


def nested_statements(block: ast.Block):
    """Every statement of ``block`` and of the blocks nested in it (not
    those of nested functions)."""
    pending = [block]
    while pending:
        current = pending.pop()
        for stat in current.body:
            yield stat
            t = type(stat)
            if t in (ast.Do, ast.While, ast.Repeat, ast.NumericFor, ast.GenericFor):
                pending.append(stat.body)
            elif t is ast.If:
                pending.extend(body for _, body in stat.tests)
                if stat.orelse is not None:
                    pending.append(stat.orelse)


def assigned_locals(block: ast.Block) -> set[int]:
    """The ids of the locals that statements of ``block`` assign after
    their declaration."""
    assigned = set()
    for stat in nested_statements(block):
        t = type(stat)
        if t is ast.Assign or t is ast.FunctionStat:
            for target in (stat.targets if t is ast.Assign else [stat.target]):
                if type(target) is ast.Name:
                    assigned.add(id(target.binding))
    return assigned


def returns_a_call(block: ast.Block) -> bool:
    """Does ``block`` have a ``return f(...)``, which may be a tail call?"""
    return any(type(stat) is ast.Return and len(stat.exprs) == 1
               and type(stat.exprs[0]) in (ast.Call, ast.MethodCall)
               for stat in nested_statements(block))
