"""The Lua syntax tree.

The parser (``luapy.parser``) builds these nodes; the resolver
(``luapy.resolve``) annotates them in place with slots and scopes; the
compiler (``luapy.compile``) turns them into Python closures.  Nodes are
plain data: no behaviour lives here.

Every node carries ``line``, the 1-based source line where it starts, because
every error a Lua program can see must name a position.

Strings are Lua byte strings held in Python ``str`` objects whose characters
are all in range 0..255 (one character per byte, as latin-1 decodes them).
"""

from __future__ import annotations


class Node:
    __slots__ = ("line",)

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for cls in type(self).__mro__
            for name in getattr(cls, "__slots__", ())
            if name != "line" and hasattr(self, name)
        )
        return f"{type(self).__name__}({fields})"


# ---------------------------------------------------------------- expressions


class Expr(Node):
    __slots__ = ()


class Nil(Expr):
    __slots__ = ()

    def __init__(self, line: int):
        self.line = line


class TrueExpr(Expr):
    __slots__ = ()

    def __init__(self, line: int):
        self.line = line


class FalseExpr(Expr):
    __slots__ = ()

    def __init__(self, line: int):
        self.line = line


class Number(Expr):
    """A numeric literal, already converted: Python ``int`` (64-bit range) or ``float``."""

    __slots__ = ("value",)

    def __init__(self, value, line: int):
        self.value = value
        self.line = line


class String(Expr):
    """A string literal with escapes decoded (latin-1 str, one char per byte)."""

    __slots__ = ("value",)

    def __init__(self, value: str, line: int):
        self.value = value
        self.line = line


class Vararg(Expr):
    __slots__ = ()

    def __init__(self, line: int):
        self.line = line


class Name(Expr):
    """A variable reference.  The resolver fills ``binding``."""

    __slots__ = ("name", "binding")

    def __init__(self, name: str, line: int):
        self.name = name
        self.line = line
        self.binding = None


class Index(Expr):
    """``obj[key]``; ``obj.name`` is an Index whose key is a String."""

    __slots__ = ("obj", "key")

    def __init__(self, obj: Expr, key: Expr, line: int):
        self.obj = obj
        self.key = key
        self.line = line


class Call(Expr):
    __slots__ = ("func", "args")

    def __init__(self, func: Expr, args: list, line: int):
        self.func = func
        self.args = args
        self.line = line


class MethodCall(Expr):
    """``obj:name(args)``."""

    __slots__ = ("obj", "name", "args")

    def __init__(self, obj: Expr, name: str, args: list, line: int):
        self.obj = obj
        self.name = name
        self.args = args
        self.line = line


class Paren(Expr):
    """``(expr)``: truncates a multi-value expression to one value."""

    __slots__ = ("expr",)

    def __init__(self, expr: Expr, line: int):
        self.expr = expr
        self.line = line


class Function(Expr):
    """A function body: ``function (params) body end``.

    ``name`` is the name used in error messages and tracebacks (e.g.
    ``"f"``, ``"obj.method"``, ``"obj:method"``), or ``None`` for anonymous
    functions.  ``is_method`` means an implicit first parameter ``self`` was
    added by the parser (``params`` already includes it).  The resolver
    fills ``scope`` with a ``luapy.resolve.FunctionScope``.
    """

    __slots__ = ("params", "is_vararg", "body", "name", "is_method", "end_line", "scope", "size",
                 "text", "close_line")

    def __init__(self, params: list, is_vararg: bool, body: "Block", line: int,
                 end_line: int, name: str | None = None, is_method: bool = False,
                 size: int = 0, text: "SourceText | None" = None, close_line: int | None = None):
        #: The line of the token after its ``end`` (the end of the source,
        #: for a main chunk): where lua5.4 finds a ``goto`` or ``break``
        #: with nowhere to go, and so the line its error names first.
        self.close_line = end_line if close_line is None else close_line
        #: Bytes of source from its parameter list to its ``end``.
        self.size = size
        #: Where that source is (what ``string.dump`` saves), or None.
        self.text = text
        self.params = params
        self.is_vararg = is_vararg
        self.body = body
        self.line = line
        self.end_line = end_line
        self.name = name
        self.is_method = is_method
        self.scope = None


class SourceText:
    """A function's own source: ``source[start:stop]`` from the ``(`` of its
    parameter list to its ``end`` (a whole chunk for a main chunk), which
    starts on line ``line``.  It refers to the chunk's text, not a copy."""

    __slots__ = ("source", "start", "stop", "line")

    def __init__(self, source: str, start: int, stop: int, line: int):
        self.source = source
        self.start = start
        self.stop = stop
        self.line = line

    def __str__(self) -> str:
        return self.source[self.start:self.stop]


class Field(Node):
    """One table constructor entry.  ``key is None`` means positional."""

    __slots__ = ("key", "value")

    def __init__(self, key: Expr | None, value: Expr, line: int):
        self.key = key
        self.value = value
        self.line = line


class Table(Expr):
    __slots__ = ("fields",)

    def __init__(self, fields: list, line: int):
        self.fields = fields
        self.line = line


class BinOp(Expr):
    """A binary operator.

    ``op`` is the Lua operator text: ``+ - * / // % ^ .. == ~= < <= > >=
    & | ~ << >> and or``.  Chains of left-associative operators are
    left-deep trees; ``..`` chains of any length are flattened by the parser
    into a single ``Concat``.
    """

    __slots__ = ("op", "left", "right")

    def __init__(self, op: str, left: Expr, right: Expr, line: int):
        self.op = op
        self.left = left
        self.right = right
        self.line = line


class Concat(Expr):
    """``a .. b .. c``: all operands of one right-associative chain."""

    __slots__ = ("operands",)

    def __init__(self, operands: list, line: int):
        self.operands = operands
        self.line = line


class UnOp(Expr):
    """``op`` is one of ``- not # ~``."""

    __slots__ = ("op", "operand")

    def __init__(self, op: str, operand: Expr, line: int):
        self.op = op
        self.operand = operand
        self.line = line


# ----------------------------------------------------------------- statements


class Stat(Node):
    __slots__ = ()


class Block(Node):
    """A statement list with its own scope.  ``end_line`` is where it closes."""

    __slots__ = ("body", "end_line", "scope")

    def __init__(self, body: list, line: int, end_line: int):
        self.body = body
        self.line = line
        self.end_line = end_line
        self.scope = None


class Local(Stat):
    """``local a <const>, b <close> = exprs``.

    ``attribs`` has one entry per name: ``None``, ``"const"`` or ``"close"``.
    The resolver fills ``bindings`` (one per name).
    """

    __slots__ = ("names", "attribs", "exprs", "bindings")

    def __init__(self, names: list, attribs: list, exprs: list, line: int):
        self.names = names
        self.attribs = attribs
        self.exprs = exprs
        self.line = line
        self.bindings = None


class Assign(Stat):
    """``targets = exprs``; each target is a ``Name`` or an ``Index``."""

    __slots__ = ("targets", "exprs")

    def __init__(self, targets: list, exprs: list, line: int):
        self.targets = targets
        self.exprs = exprs
        self.line = line


class CallStat(Stat):
    __slots__ = ("call",)

    def __init__(self, call: Expr, line: int):
        self.call = call
        self.line = line


class Do(Stat):
    __slots__ = ("body",)

    def __init__(self, body: Block, line: int):
        self.body = body
        self.line = line


class While(Stat):
    __slots__ = ("cond", "body")

    def __init__(self, cond: Expr, body: Block, line: int):
        self.cond = cond
        self.body = body
        self.line = line


class Repeat(Stat):
    """``repeat body until cond``: ``cond`` is resolved inside ``body``'s scope."""

    __slots__ = ("body", "cond")

    def __init__(self, body: Block, cond: Expr, line: int):
        self.body = body
        self.cond = cond
        self.line = line


class If(Stat):
    """``tests`` is a list of ``(cond, Block)`` pairs (the ``if`` and each
    ``elseif``); ``orelse`` is the ``else`` block or ``None``."""

    __slots__ = ("tests", "orelse")

    def __init__(self, tests: list, orelse: Block | None, line: int):
        self.tests = tests
        self.orelse = orelse
        self.line = line


class NumericFor(Stat):
    __slots__ = ("var", "start", "stop", "step", "body", "binding")

    def __init__(self, var: str, start: Expr, stop: Expr, step: Expr | None,
                 body: Block, line: int):
        self.var = var
        self.start = start
        self.stop = stop
        self.step = step
        self.body = body
        self.line = line
        self.binding = None


class GenericFor(Stat):
    __slots__ = ("names", "exprs", "body", "bindings")

    def __init__(self, names: list, exprs: list, body: Block, line: int):
        self.names = names
        self.exprs = exprs
        self.body = body
        self.line = line
        self.bindings = None


class FunctionStat(Stat):
    """``function a.b.c:m() ... end``.

    ``target`` is the assignable expression (a ``Name`` or an ``Index``
    chain) that receives ``func``; for ``:m`` the parser already built
    ``Index(a.b.c, "m")`` and marked ``func.is_method``.
    """

    __slots__ = ("target", "func")

    def __init__(self, target: Expr, func: Function, line: int):
        self.target = target
        self.func = func
        self.line = line


class LocalFunction(Stat):
    __slots__ = ("name", "func", "binding")

    def __init__(self, name: str, func: Function, line: int):
        self.name = name
        self.func = func
        self.line = line
        self.binding = None


class Return(Stat):
    __slots__ = ("exprs",)

    def __init__(self, exprs: list, line: int):
        self.exprs = exprs
        self.line = line


class Break(Stat):
    __slots__ = ()

    def __init__(self, line: int):
        self.line = line


class Goto(Stat):
    __slots__ = ("label", "target")

    def __init__(self, label: str, line: int):
        self.label = label
        self.line = line
        self.target = None


class Label(Stat):
    __slots__ = ("name",)

    def __init__(self, name: str, line: int):
        self.name = name
        self.line = line


class Chunk(Node):
    """A whole compiled unit: a vararg main function named by ``chunkname``."""

    __slots__ = ("func", "chunkname")

    def __init__(self, func: Function, chunkname: str):
        self.func = func
        self.chunkname = chunkname
        self.line = 0
