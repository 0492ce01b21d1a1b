"""Questions the compiler asks of the syntax tree, answered without output."""

from __future__ import annotations

from .. import ast
from ..runtime import ops
from ..resolve import GlobalRef

COMPARISONS = frozenset(("==", "~=", "<", "<=", ">", ">="))


ERRING_NODES = (ast.Index, ast.Call, ast.MethodCall, ast.BinOp, ast.UnOp, ast.Concat)


def constant_truth(node):
    """The truthiness of a constant expression, or None if not constant
    (to lua5.4's code generator: ``-1`` and ``2^53`` are constants too)."""
    t = type(node)
    if t in (ast.Number, ast.String, ast.TrueExpr):
        return True
    if t in (ast.Nil, ast.FalseExpr):
        return False
    if folded_number(node) is not None:
        return True
    return None


def folded_number(node):
    """The number lua5.4 folds ``node`` into at compile time (lcode.c's
    ``constfolding``), or None: numerals and arithmetic on them, except a
    division by zero, a bitwise operation on a number without an integer
    value, and a result that is a NaN or a float zero."""
    t = type(node)
    if t is ast.Number:
        return node.value
    if t is ast.Paren:
        return folded_number(node.expr)
    if t is ast.UnOp and node.op in ("-", "~"):
        operand = folded_number(node.operand)
        if operand is None:
            return None
        if node.op == "-":
            return _folded_result(ops.unm(operand))
        operand = ops.tointeger(operand)
        return None if operand is None else ~operand
    if t is ast.BinOp and (node.op in ops.ARITH or node.op in ops.BITWISE):
        left, right = folded_number(node.left), folded_number(node.right)
        if left is None or right is None:
            return None
        if node.op in ops.BITWISE:
            left, right = ops.tointeger(left), ops.tointeger(right)
            if left is None or right is None:
                return None
            return ops.BITWISE[node.op](left, right)
        if node.op in ("/", "//", "%") and right == 0:
            return None
        return _folded_result(ops.ARITH[node.op](left, right))
    return None


def declares_close(stat) -> bool:
    """Whether ``stat`` is ``local x <close> = ...``."""
    return type(stat) is ast.Local and "close" in stat.attribs


def _folded_result(number):
    if type(number) is float and (number != number or number == 0):
        return None  # (lua5.4 keeps NaN and -0.0 out of its constants)
    return number


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
        if declares_close(item):
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


# -- Which functions may be generated later -----------------------------------

#: A nested function's Python is generated when its first closure is made
#: (``chunk.ChunkCompiler.nested_function``) only if nothing in it or in the
#: functions nested in it could come near what CPython refuses, judged from
#: the tree alone (``deferrable``): so whatever CPython could refuse is
#: still generated, and compiled, at load.  How many levels of Python
#: indentation its statements may take, counted as the compiler could at
#: worst indent them: a loop 3 (a chunked ``for``'s two loops and the
#: ``try`` of its jumps), an ``if`` 1 and 1 per ``elseif`` (each may nest in
#: the previous ``else``, up to ``statements.MAX_NESTED_ELSE``), a block
#: with labels 3 (its dispatch loop, segment test and ``try``), a
#: ``<close>`` local 1 (the ``try`` around the rest of its block), an
#: ``and``/``or`` 1 (the ``if`` of a right side that needs statements).  A
#: body starts at most 6 levels deep in the generated module (``__chunk``,
#: the factory, the function, its ``try``, the lazy prologue's ``try``, the
#: single-result form's integer copy): 6 + 10 is ``chunk.LAZY_MAX_INDENT``.
DEFERRED_MAX_NESTING = 10
#: How deeply its expressions may nest (each level is at most a few
#: brackets of Python, far from CPython's 200 nested brackets and its
#: compiler's recursion; ``chunk.LAZY_MAX_OPENERS`` counts 100).
DEFERRED_MAX_DEPTH = 20
#: An ``if``'s ``elseif``s nest at most this deep (``statements.MAX_NESTED_ELSE``).
_MAX_NESTED_ELSE = 8
_LEAVES = frozenset((ast.Name, ast.Number, ast.String, ast.Nil, ast.TrueExpr, ast.FalseExpr,
                     ast.Vararg))
_LOOPS = (ast.While, ast.Repeat, ast.NumericFor, ast.GenericFor)


class _TooDeep(Exception):
    """The function may come near CPython's limits: generate it at load."""


def deferrable(node: ast.Function, memo: dict) -> bool:
    """May ``node``'s Python be generated later, when its first closure is
    made?  Only if neither it nor any function nested in it could come near
    CPython's limits (``DEFERRED_MAX_NESTING``, ``DEFERRED_MAX_DEPTH``).

    ``memo`` (``id`` of a function -> the answer) makes every function's
    nodes walked at most once however the answers are asked for; the walk
    stops at the first excess (the compiler asks again of the functions
    nested in one that is generated at load)."""
    known = memo.get(id(node))
    if known is None:
        try:
            _Measure(memo).block(node.body, 0)
            known = True
        except _TooDeep:
            known = False
        memo[id(node)] = known
    return known


class _Measure:
    """The walk of ``deferrable``: raises ``_TooDeep`` at the first excess."""

    __slots__ = ("memo",)

    def __init__(self, memo: dict):
        self.memo = memo

    def block(self, block: ast.Block, nesting: int) -> None:
        stats = block.body
        for stat in stats:
            if type(stat) is ast.Label:
                nesting += 3
                break
        if nesting > DEFERRED_MAX_NESTING:
            raise _TooDeep
        expr = self.expr
        for stat in stats:
            t = type(stat)
            if t is ast.Local or t is ast.Return:
                for value in stat.exprs:
                    expr(value, nesting, 0)
                if declares_close(stat):
                    nesting += 1        # the rest of the block runs in a ``try``
                    if nesting > DEFERRED_MAX_NESTING:
                        raise _TooDeep
            elif t is ast.Assign:
                for value in stat.targets:
                    expr(value, nesting, 0)
                for value in stat.exprs:
                    expr(value, nesting, 0)
            elif t is ast.CallStat:
                expr(stat.call, nesting, 0)
            elif t is ast.If:
                inner = nesting + 1 + min(len(stat.tests) - 1, _MAX_NESTED_ELSE)
                for cond, body in stat.tests:
                    expr(cond, inner, 0)
                    self.block(body, inner)
                if stat.orelse is not None:
                    self.block(stat.orelse, inner)
            elif t in _LOOPS:
                inner = nesting + 3
                if t is ast.While or t is ast.Repeat:
                    expr(stat.cond, inner, 0)
                elif t is ast.NumericFor:
                    expr(stat.start, nesting, 0)
                    expr(stat.stop, nesting, 0)
                    if stat.step is not None:
                        expr(stat.step, nesting, 0)
                else:
                    for value in stat.exprs:
                        expr(value, nesting, 0)
                self.block(stat.body, inner)
            elif t is ast.Do:
                self.block(stat.body, nesting)
            elif t is ast.LocalFunction:
                self.function(stat.func)
            elif t is ast.FunctionStat:
                expr(stat.target, nesting, 0)
                self.function(stat.func)
            # Goto, Break, Label: no code of their own to nest

    def function(self, node: ast.Function) -> None:
        if not deferrable(node, self.memo):
            raise _TooDeep

    def expr(self, node, nesting: int, depth: int) -> None:
        t = type(node)
        if t in _LEAVES:
            return
        depth += 1
        if depth > DEFERRED_MAX_DEPTH or nesting > DEFERRED_MAX_NESTING:
            raise _TooDeep
        expr = self.expr
        if t is ast.Index:
            expr(node.obj, nesting, depth)
            expr(node.key, nesting, depth)
        elif t is ast.BinOp:
            expr(node.left, nesting, depth)
            # A right side that needs statements runs under an ``if``.
            expr(node.right, nesting + (node.op == "and" or node.op == "or"), depth)
        elif t is ast.Call or t is ast.MethodCall:
            expr(node.func if t is ast.Call else node.obj, nesting, depth)
            for arg in node.args:
                expr(arg, nesting, depth)
        elif t is ast.Concat:
            for operand in node.operands:
                expr(operand, nesting, depth)
        elif t is ast.Table:
            for field in node.fields:
                if field.key is not None:
                    expr(field.key, nesting, depth)
                expr(field.value, nesting, depth)
        elif t is ast.UnOp:
            expr(node.operand, nesting, depth)
        elif t is ast.Paren:
            expr(node.expr, nesting, depth)
        elif t is ast.Function:
            self.function(node)
        else:
            raise _TooDeep      # a node this walk does not know: be safe
