"""Numeric ``for`` loops over arrays: a copy of the body that trusts its tables.

    for i = 1, n do t[i] = i end          for i = 1, #t do sum = sum + t[i] end

Each ``t[i]`` of an ordinary loop body tests, every iteration, that ``t`` is
a table without a metatable and that ``i`` falls in (or just after) its array
part.  For a body of the plain shape above, those tests are made once per
chunk of iterations instead (``StatementCompiler._loop``): when they hold at
a chunk's start, the chunk runs a second copy of the body in which ``t[i]``
is the array part's own ``list`` indexed, or appended to.

What keeps that exact is the shape of the body (``plan_array_loop``): a
straight line of assignments and ``local``s whose expressions call nothing
and read no global, and whose tables are read or written only at the loop's
variable.  Nothing in such a body can change a table but its own stores,
whose effect the chunk's test foresees, and the slow paths of its
operators: a metamethod (or a ``debug`` function it calls) can do anything.
So in the copy every slow path first sets ``_ok`` false (``slow_path``),
and from there on the table accesses of the iteration take their ordinary
form and the rest of the chunk runs the ordinary body.

The copy runs only while no hook is set: its Python lines are not the
ones a line or count hook is shown.
"""

from __future__ import annotations

from .. import ast
from ..resolve import LocalVar, UpvalRef

#: The most statements a body copied this way may have: the copy doubles the
#: loop's code.
MAX_STATEMENTS = 8
#: The most expression nodes it may have, over all its statements.
MAX_NODES = 64
#: Operators whose Python code always calls the runtime helper: a copy would
#: leave its fast path at once, so a body with one is not copied.
_ALWAYS_SLOW = frozenset(("/", "^", "<<", ">>", "~", "#"))
_CONSTANTS = (ast.Nil, ast.TrueExpr, ast.FalseExpr, ast.Number, ast.String)


class ArrayTable:
    """A local the body indexes at the loop's variable, and how."""

    __slots__ = ("var", "read", "stores")

    def __init__(self, var: LocalVar):
        self.var = var
        self.read = False
        self.stores = 0     # how many targets of the body store into it

    @property
    def stored(self) -> bool:
        return self.stores > 0

    @property
    def name(self) -> str:
        return f"l{self.var.slot}"

    @property
    def array(self) -> str:
        """The Python local holding the table's array part in the copy."""
        return f"_arr{self.var.slot}"

    @property
    def appends(self) -> bool:
        """Written once per iteration and never read: its chunk may start
        where its array part ends, each iteration appending one value.  A
        table the body also reads must hold the whole chunk already (read
        after a store, an appended slot would be there, but read first it
        would not); one written twice would get two appends."""
        return self.stores == 1 and not self.read


class ArrayLoop:
    """The plan of one loop's copy: the loop variable and its tables."""

    def __init__(self, var: LocalVar, tables: list[ArrayTable]):
        self.var = var
        self.tables = tables
        self._by_var = {id(table.var): table for table in tables}

    def table_at(self, node: ast.Index) -> ArrayTable | None:
        """The table ``node`` reads or writes at the loop variable, if it is
        one of the plan's (every ``Index`` of a planned body is)."""
        var = _indexed_at(node, self.var)
        return None if var is None else self._by_var.get(id(var))

    def guard(self) -> str:
        """The test made at a chunk's start: every table plain, and each
        array part covering the chunk, or ending right before it."""
        tests = ["GETTRACE() is None"]
        for table in self.tables:
            name = table.name
            tests.append(f"type({name}) is Table and {name}.meta is None")
            if table.appends:
                tests.append(f"len({name}.arr) == _chunk.start - 1 and not {name}.hash")
            else:
                tests.append(f"_chunk.stop - 1 <= len({name}.arr)")
                if table.stored:
                    # A hole ``next`` keeps track of is SETINDEX's to fill.
                    tests.append(f"{name}.gaps is None")
        appending = [table.name for table in self.tables if table.appends]
        # Two names for one table would append twice per iteration.
        tests.extend(f"{a} is not {b}" for i, a in enumerate(appending) for b in appending[i + 1:])
        return " and ".join(tests)

    def prologue(self) -> list[str]:
        """What the copy sets up once the guard holds: each array part, and
        the memory of the blocks of 64 slots the chunk's appends open
        (charged up front, as the inline append charges a block when it
        opens it)."""
        lines = ["_ok = True"]
        for table in self.tables:
            lines.append(f"{table.array} = {table.name}.arr")
            if table.appends:
                lines.append("APPENDS(_chunk)")
        return lines

    def read(self, table: ArrayTable, ordinary: str) -> str:
        return f"({table.array}[{self.loop_var} - 1] if _ok else {ordinary})"

    def store(self, table: ArrayTable, value: str, never_nil: bool, ordinary: list[str]) -> list[str]:
        """``t[i] = value`` in the copy: into (or onto) the array part; a
        nil, which may shorten the array, ends the copy's run."""
        nil_check = "" if never_nil else f" and {value} is not None"
        fast = (f"{table.array}.append({value})" if table.appends
                else f"{table.array}[{self.loop_var} - 1] = {value}")
        return [f"if _ok{nil_check}: {fast}", "else:", "    _ok = False",
                *("    " + line for line in ordinary)]

    @property
    def loop_var(self) -> str:
        return f"l{self.var.slot}"


def _indexed_at(node: ast.Index, loop_var: LocalVar):
    """The binding of ``t`` in ``t[i]``, ``i`` the loop's variable; else None."""
    if type(node.obj) is not ast.Name or type(node.key) is not ast.Name or node.key.binding is not loop_var:
        return None
    return node.obj.binding


def slow_path(call: str) -> str:
    """A runtime helper's call in the copy: it may run Lua code, which may
    change any table, so the copy stops trusting them first."""
    return f"((_ok := False) or {call})"


def plan_array_loop(node: ast.NumericFor) -> ArrayLoop | None:
    """The copy's plan for ``node``, or None if its body is not of the
    shape that makes one exact (see the module's text).  The caller has
    checked that the loop counts by one from a literal >= 1 in a local
    nothing else assigns or captures."""
    stats = node.body.body
    if not stats or len(stats) > MAX_STATEMENTS:
        return None
    planner = _Planner(node.binding)
    for stat in stats:
        if not planner.statement(stat):
            return None
    if not planner.tables or planner.nodes > MAX_NODES:
        return None
    # A table's local must hold the same table all along.
    if any(id(table.var) in planner.assigned for table in planner.tables.values()):
        return None
    return ArrayLoop(node.binding, list(planner.tables.values()))


class _Planner:
    def __init__(self, var: LocalVar):
        self.var = var
        self.tables: dict[int, ArrayTable] = {}
        self.declared: set[int] = set()     # locals the body declares
        self.assigned: set[int] = set()     # locals the body assigns
        self.nodes = 0

    def statement(self, stat) -> bool:
        kind = type(stat)
        if kind is ast.Local:
            if "close" in stat.attribs or not all(self.pure(expr) for expr in stat.exprs):
                return False
            self.declared.update(id(var) for var in stat.bindings)
            return True
        if kind is ast.Assign:
            if not all(self.pure(expr) for expr in stat.exprs):
                return False
            for target in stat.targets:
                if type(target) is ast.Index:
                    table = self.table(target)
                    if table is None:
                        return False
                    table.stores += 1
                elif type(target.binding) is LocalVar and target.binding is not self.var:
                    self.assigned.add(id(target.binding))
                elif type(target.binding) is not UpvalRef:
                    return False        # a global: a store into _ENV
            return True
        return False

    def pure(self, node) -> bool:
        """Can ``node`` run no Lua code but its operators' metamethods?"""
        self.nodes += 1
        kind = type(node)
        if kind in _CONSTANTS:
            return True
        if kind is ast.Name:
            return type(node.binding) in (LocalVar, UpvalRef)
        if kind is ast.Paren:
            return self.pure(node.expr)
        if kind is ast.BinOp:
            return node.op not in _ALWAYS_SLOW and self.pure(node.left) and self.pure(node.right)
        if kind is ast.UnOp:
            return node.op not in _ALWAYS_SLOW and self.pure(node.operand)
        if kind is ast.Concat:
            return all(self.pure(operand) for operand in node.operands)
        if kind is ast.Index:
            table = self.table(node)
            if table is None:
                return False
            table.read = True
            return True
        return False

    def table(self, node: ast.Index) -> ArrayTable | None:
        """The ``ArrayTable`` of ``t[i]``: ``t`` a local declared before the
        loop and no closure's, ``i`` the loop's variable."""
        var = _indexed_at(node, self.var)
        if type(var) is not LocalVar or var.captured or var is self.var or id(var) in self.declared:
            return None
        table = self.tables.get(id(var))
        if table is None:
            table = self.tables[id(var)] = ArrayTable(var)
        return table
