"""The resolver pass: decide where every variable lives before anything runs.

It walks a parsed chunk once, in source order, and records on the tree
what the compiler (``luapy.compile``) needs, so that the compiler never
looks a name up:

* every ``ast.Name`` gets ``binding``, one of

  - ``LocalVar``  a local of the function being compiled.  Its ``slot``
    (unique within the function) names the Python local the compiler uses:
    ``l<slot>``, or ``c<slot>``, a cell (a one-element list), when
    ``captured`` is set because an inner function refers to it;
  - ``UpvalRef``  a local of an enclosing function, reached through the
    closure's upvalue cell number ``index`` (``u<index>``);
  - ``GlobalRef`` a free name: a field of ``_ENV``, where ``env`` is the
    binding of ``_ENV`` itself (the main chunk receives ``_ENV`` as its
    upvalue 0);

* declarations get the ``LocalVar`` they declare: ``Local.bindings``,
  ``LocalFunction.binding``, ``NumericFor.binding``, ``GenericFor.bindings``;
* every ``ast.Function`` gets ``scope``, a ``FunctionScope``: its
  parameters, how its closure fetches each upvalue cell when it is made
  (``upvalues``), whether it is vararg, and how much source is its own
  (``own_size``, which decides compact code);
* every ``ast.Block`` gets ``scope``, its ``_BlockScope``;
* every ``ast.Goto`` gets ``target``, the ``ast.Label`` it jumps to.

It also makes the checks lua5.4's parser makes about scopes, which a
grammar can't: ``goto`` targets (visible, not into a local's scope),
duplicate labels, ``break`` outside a loop, and assignment to ``<const>``
and ``<close>`` variables.  The other syntax checks belong to the parser
(``luapy.parser``): each check has one owner.
"""

from __future__ import annotations

from . import ast
from .errors import LuaSyntaxError

#: Slots number the Python locals of generated code from here.
FIRST_LOCAL_SLOT = 2
#: lua5.4's limits on a function: active locals (MAXVARS), upvalues
#: (MAXUPVAL) and registers (MAXREGS, which a call's arguments fill).
MAX_LOCALS = 200
MAX_UPVALUES = 255
MAX_REGISTERS = 255
#: The hidden locals of lua5.4's numeric and generic ``for``.
NUMERIC_FOR_HIDDEN = 3
GENERIC_FOR_HIDDEN = 4


class LocalVar:
    __slots__ = ("name", "slot", "captured", "attrib", "line")

    def __init__(self, name: str, slot: int, attrib: str | None, line: int):
        self.name = name
        self.slot = slot
        self.captured = False
        self.attrib = attrib
        self.line = line

    @property
    def is_readonly(self) -> bool:
        return self.attrib is not None


#: The main chunk's ``_ENV``: not a local of any function we compile.
ENV_VAR = LocalVar("_ENV", -1, None, 0)


class UpvalRef:
    __slots__ = ("index", "var")

    def __init__(self, index: int, var: LocalVar):
        self.index = index
        self.var = var


class GlobalRef:
    __slots__ = ("env", "name")

    def __init__(self, env, name: str):
        self.env = env
        self.name = name


class FunctionScope:
    """What the compiler needs to build a function's frame and closures."""

    def __init__(self, parent: "FunctionScope | None", node: ast.Function):
        self.parent = parent
        self.node = node
        self.nslots = FIRST_LOCAL_SLOT
        self.params: list[LocalVar] = []
        #: How to fetch each upvalue cell when the closure is created:
        #: ``("local", slot)`` from the creating frame, ``("upval", i)`` from
        #: the creating closure's own upvalues, ``("env", 0)`` for the chunk.
        self.upvalues: list[tuple[str, int]] = []
        self.upvalue_names: list[str] = []
        self._upvalue_index: dict[int, int] = {}
        self.blocks: list[_BlockScope] = []
        #: Name -> the locals of that name in the open blocks, innermost last.
        self.visible: dict[str, list[LocalVar]] = {}
        self.is_vararg = node.is_vararg
        #: Bytes of source of this function alone, its nested functions
        #: left out: how much code its own compiled body holds.
        self.own_size = node.size
        #: What a global name's ``_ENV`` is here (``env``), once looked up;
        #: False in a function that declares a local ``_ENV``, where that
        #: depends on the block.  (An enclosing function's locals don't
        #: change while this one is resolved.)
        self.env_ref: UpvalRef | None | bool = None
        #: lua5.4's hidden locals of the ``for`` loops open here.
        self.hidden_locals = 0

    def new_local(self, name: str, attrib: str | None, line: int) -> LocalVar:
        if name == "_ENV":
            self.env_ref = False
        var = LocalVar(name, self.nslots, attrib, line)
        self.nslots += 1
        return var

    def find_local(self, name: str) -> LocalVar | None:
        found = self.visible.get(name)
        return found[-1] if found else None

    def find_upvalue(self, name: str) -> UpvalRef | None:
        parent = self.parent
        if parent is None:
            if name == "_ENV":
                return UpvalRef(self._add_upvalue(ENV_VAR, ("env", 0), name), ENV_VAR)
            return None
        var = parent.find_local(name)
        if var is not None:
            var.captured = True
            return UpvalRef(self._add_upvalue(var, ("local", var.slot), name), var)
        ref = parent.find_upvalue(name)
        if ref is None:
            return None
        return UpvalRef(self._add_upvalue(ref.var, ("upval", ref.index), name), ref.var)

    def _add_upvalue(self, var: LocalVar, source: tuple[str, int], name: str) -> int:
        index = self._upvalue_index.get(id(var))
        if index is None:
            index = len(self.upvalues)
            if index >= MAX_UPVALUES:
                raise _TooManyUpvalues(self)
            self._upvalue_index[id(var)] = index
            self.upvalues.append(source)
            self.upvalue_names.append(name)
        return index

    def lookup(self, name: str):
        var = self.find_local(name)
        if var is not None:
            return var
        return self.find_upvalue(name)

    def env(self):
        """The ``_ENV`` of a global name here."""
        ref = self.env_ref
        if ref:
            return ref
        ref = self.lookup("_ENV")
        if self.env_ref is None:
            self.env_ref = ref
        return ref


class _TooManyUpvalues(Exception):
    """A function needs more than ``MAX_UPVALUES``; the resolver reports it
    where the name that needed one is."""

    def __init__(self, scope: FunctionScope):
        super().__init__()
        self.scope = scope


class _PendingGoto:
    """A forward ``goto`` waiting for its label; ``order`` is its place in
    the source, for naming the first one that never finds it."""

    __slots__ = ("node", "nactive", "block", "order")

    def __init__(self, node: ast.Goto, nactive: int, block: "_BlockScope", order: int):
        self.node = node
        self.nactive = nactive
        self.block = block
        self.order = order


class _BlockScope:
    def __init__(self, is_loop: bool, nactive: int):
        self.active: list[LocalVar] = []
        self.is_loop = is_loop
        #: Active locals of the enclosing blocks when this block opened.
        self.base_active = nactive
        self.labels: dict[str, tuple[ast.Label, int]] = {}
        #: Forward gotos not yet matched, by label name (so a label finds
        #: its gotos without scanning every other pending one).
        self.pending: dict[str, list[_PendingGoto]] = {}

    def declare(self, var: LocalVar) -> None:
        self.active.append(var)


class Resolver:
    def __init__(self, chunkname: str):
        self.chunkname = chunkname
        self.function: FunctionScope | None = None
        self.gotos = 0      # forward gotos seen, to order them

    def error(self, line: int, message: str):
        raise LuaSyntaxError(f"{self.chunkname}:{line}: {message}")

    # -- functions and blocks ----------------------------------------------

    def function_node(self, node: ast.Function) -> None:
        if self.function is not None:
            self.function.own_size -= node.size
        scope = FunctionScope(self.function, node)
        node.scope = scope
        if scope.parent is None:
            scope.find_upvalue("_ENV")  # a main chunk's upvalue 1, used or not
        self.function = scope
        block = self._open_block(node.body, is_loop=False)
        for name in node.params:
            var = scope.new_local(name, None, node.line)
            scope.params.append(var)
            self._declare(block, var)
        self._statements(node.body)
        self._close_block(node.body)
        self.function = scope.parent

    def _declare(self, block: _BlockScope, var: LocalVar) -> None:
        block.declare(var)
        self.function.visible.setdefault(var.name, []).append(var)
        if self._nactive() + self.function.hidden_locals > MAX_LOCALS:
            self.error(var.line, self._limit_message("local variables", MAX_LOCALS))

    def _limit_message(self, what: str, limit: int, scope: "FunctionScope | None" = None) -> str:
        """lparser.c's ``errorlimit`` (without its "near" token)."""
        scope = scope or self.function
        where = "main function" if scope.parent is None else f"function at line {scope.node.line}"
        return f"too many {what} (limit is {limit}) in {where}"

    def _nactive(self) -> int:
        blocks = self.function.blocks
        if not blocks:
            return 0
        top = blocks[-1]
        return top.base_active + len(top.active)

    def _open_block(self, node: ast.Block, is_loop: bool) -> _BlockScope:
        block = _BlockScope(is_loop, self._nactive())
        self.function.blocks.append(block)
        node.scope = block
        return block

    def _close_block(self, node: ast.Block) -> None:
        blocks = self.function.blocks
        block = blocks.pop()
        visible = self.function.visible
        for var in block.active:
            visible[var.name].pop()
        if not block.pending:
            return
        if blocks:
            outer = blocks[-1]
            level = outer.base_active + len(outer.active)
            for label, gotos in block.pending.items():
                for goto in gotos:
                    goto.nactive = min(goto.nactive, level)
                    goto.block = outer
                outer.pending.setdefault(label, []).extend(gotos)
        else:
            # As lua5.4, at the function's end: the first jump still pending.
            goto = min((g for gotos in block.pending.values() for g in gotos),
                       key=lambda g: g.order)
            line = self.function.node.close_line
            if type(goto.node) is ast.Break:
                self.error(line, f"break outside loop at line {goto.node.line}")
            self.error(line, f"no visible label '{goto.node.label}' for <goto> at line {goto.node.line}")

    def block(self, node: ast.Block, is_loop: bool = False) -> None:
        self._open_block(node, is_loop)
        self._statements(node)
        self._close_block(node)

    def _statements(self, node: ast.Block, until_follows: bool = False) -> None:
        body = node.body
        # Labels after the last other statement end their block.
        last_statement = len(body) - 1
        while last_statement >= 0 and type(body[last_statement]) is ast.Label:
            last_statement -= 1
        for index, stat in enumerate(body):
            if type(stat) is ast.Label:
                # Before ``until`` a label is not at the end of its scope:
                # the condition still sees the body's locals.
                self._label(stat, is_last=not until_follows and index > last_statement)
            else:
                self.STATEMENTS[type(stat)](self, stat)

    # -- labels and gotos --------------------------------------------------

    def _label(self, node: ast.Label, is_last: bool) -> None:
        for block in self.function.blocks:
            existing = block.labels.get(node.name)
            if existing is not None:
                self.error(node.line,
                           f"label '{node.name}' already defined on line {existing[0].line}")
        block = self.function.blocks[-1]
        # A label at the end of its block is outside every local's scope
        # (lua 5.4), so jumping forward to it never enters a scope.
        nactive = block.base_active if is_last else self._nactive()
        block.labels[node.name] = (node, nactive)
        for goto in block.pending.pop(node.name, ()):
            if goto.nactive < nactive:
                var = self._local_at(goto.nactive)
                self.error(node.line,
                           f"<goto {node.name}> at line {goto.node.line} jumps into the scope of local '{var.name}'")
            goto.node.target = node

    def _local_at(self, position: int) -> LocalVar:
        for block in self.function.blocks:
            if position < block.base_active + len(block.active):
                return block.active[position - block.base_active]
        raise AssertionError("goto position outside any block")

    def stat_Goto(self, node: ast.Goto) -> None:
        for block in reversed(self.function.blocks):
            found = block.labels.get(node.label)
            if found is not None:
                node.target = found[0]  # a backward jump: always allowed
                return
        self._pending(node, node.label)

    def _pending(self, node, label: str) -> None:
        block = self.function.blocks[-1]
        self.gotos += 1
        block.pending.setdefault(label, []).append(
            _PendingGoto(node, self._nactive(), block, self.gotos))

    def stat_Break(self, node: ast.Break) -> None:
        if not any(block.is_loop for block in self.function.blocks):
            # A jump to a label no source can name: it stays pending to the
            # function's end, where it is an error (``_close_block``).
            self._pending(node, "break")

    # -- statements ----------------------------------------------------------

    def stat_Local(self, node: ast.Local) -> None:
        for expr in node.exprs:
            self.expr(expr)
        block = self.function.blocks[-1]
        node.bindings = []
        for name, attrib in zip(node.names, node.attribs):
            var = self.function.new_local(name, attrib, node.line)
            node.bindings.append(var)
        for var in node.bindings:
            self._declare(block, var)

    def stat_LocalFunction(self, node: ast.LocalFunction) -> None:
        var = self.function.new_local(node.name, None, node.line)
        node.binding = var
        self._declare(self.function.blocks[-1], var)
        self.function_node(node.func)

    def stat_FunctionStat(self, node: ast.FunctionStat) -> None:
        self._assign_target(node.target)
        self.function_node(node.func)

    def stat_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._assign_target(target)
        for expr in node.exprs:
            self.expr(expr)

    def _assign_target(self, target) -> None:
        if type(target) is ast.Name:
            self.expr(target)
            binding = target.binding
            var = binding.var if type(binding) is UpvalRef else binding
            if type(var) is LocalVar and var.is_readonly:
                self.error(target.line, f"attempt to assign to const variable '{var.name}'")
        else:
            self.expr(target)

    def stat_CallStat(self, node: ast.CallStat) -> None:
        self.expr(node.call)

    def stat_Do(self, node: ast.Do) -> None:
        self.block(node.body)

    def stat_While(self, node: ast.While) -> None:
        self.expr(node.cond)
        self.block(node.body, is_loop=True)

    def stat_Repeat(self, node: ast.Repeat) -> None:
        self._open_block(node.body, is_loop=True)
        self._statements(node.body, until_follows=True)
        self.expr(node.cond)  # sees the body's locals
        self._close_block(node.body)

    def stat_If(self, node: ast.If) -> None:
        for cond, body in node.tests:
            self.expr(cond)
            self.block(body)
        if node.orelse is not None:
            self.block(node.orelse)

    def stat_NumericFor(self, node: ast.NumericFor) -> None:
        self.expr(node.start)
        self.expr(node.stop)
        if node.step is not None:
            self.expr(node.step)
        block = self._open_block(node.body, is_loop=True)
        node.binding = self.function.new_local(node.var, None, node.line)
        self._loop_body(node.body, block, [node.binding], NUMERIC_FOR_HIDDEN)

    def stat_GenericFor(self, node: ast.GenericFor) -> None:
        for expr in node.exprs:
            self.expr(expr)
        block = self._open_block(node.body, is_loop=True)
        node.bindings = [self.function.new_local(name, None, node.line) for name in node.names]
        self._loop_body(node.body, block, node.bindings, GENERIC_FOR_HIDDEN)

    def _loop_body(self, body: ast.Block, block: _BlockScope, variables, hidden: int) -> None:
        """A ``for`` loop's variables and body.  lua5.4's hidden locals of
        the loop count toward the 200 (luapy keeps no such locals)."""
        self.function.hidden_locals += hidden
        for var in variables:
            self._declare(block, var)
        self._statements(body)
        self._close_block(body)
        self.function.hidden_locals -= hidden

    def stat_Return(self, node: ast.Return) -> None:
        for expr in node.exprs:
            self.expr(expr)

    #: The resolver of each kind of statement (labels are handled in
    #: ``_statements``, which knows where they stand in their block).
    STATEMENTS = {
        ast.Goto: stat_Goto, ast.Break: stat_Break, ast.Local: stat_Local,
        ast.LocalFunction: stat_LocalFunction, ast.FunctionStat: stat_FunctionStat,
        ast.Assign: stat_Assign, ast.CallStat: stat_CallStat, ast.Do: stat_Do,
        ast.While: stat_While, ast.Repeat: stat_Repeat, ast.If: stat_If,
        ast.NumericFor: stat_NumericFor, ast.GenericFor: stat_GenericFor,
        ast.Return: stat_Return,
    }

    # -- expressions ---------------------------------------------------------

    def expr(self, node) -> None:
        t = type(node)
        if t is ast.Name:
            self._leaf(node)
            return
        if t in _LITERALS:
            return      # they bind nothing ('...' the parser checked)
        # Names are resolved in source order, because that is the order in
        # which lua5.4 numbers a function's upvalues (``debug.getupvalue``,
        # ``upvalueid``).  Left-deep chains (``a+b+c+...``, ``a.b.c``,
        # ``f()()``) are walked down their spine first and then back up,
        # so long chains don't recurse in Python.
        spine = []
        while True:
            t = type(node)
            if t is ast.BinOp:
                spine.append(node)
                node = node.left
            elif t is ast.Index or t is ast.MethodCall:
                spine.append(node)
                node = node.obj
            elif t is ast.Call:
                spine.append(node)
                node = node.func
            elif t is ast.UnOp:
                node = node.operand
            elif t is ast.Paren:
                node = node.expr
            else:
                break
        self._leaf(node)
        for node in reversed(spine):
            t = type(node)
            if t is ast.BinOp:
                self.expr(node.right)
            elif t is ast.Index:
                self.expr(node.key)
            else:
                if self._nactive() + 1 + (t is ast.MethodCall) + len(node.args) >= MAX_REGISTERS:
                    self.error(node.line, "function or expression needs too many registers")
                for arg in node.args:
                    self.expr(arg)

    def _leaf(self, node) -> None:
        """An expression that is not a left-deep chain."""
        t = type(node)
        if t is ast.Name:
            function = self.function
            try:
                binding = function.lookup(node.name)
                if binding is None:
                    binding = GlobalRef(function.env(), node.name)
            except _TooManyUpvalues as too_many:
                self.error(node.line, self._limit_message("upvalues", MAX_UPVALUES, too_many.scope))
            node.binding = binding
        elif t is ast.Concat:
            for operand in node.operands:
                self.expr(operand)
        elif t is ast.Table:
            for field in node.fields:
                if field.key is not None:
                    self.expr(field.key)
                self.expr(field.value)
        elif t is ast.Function:
            self.function_node(node)
        # literals and '...' (which the parser checked) bind nothing


_LITERALS = frozenset((ast.Number, ast.String, ast.Nil, ast.TrueExpr, ast.FalseExpr, ast.Vararg))


def resolve(chunk: ast.Chunk) -> ast.Chunk:
    """Annotate ``chunk`` in place; raises ``LuaSyntaxError`` on scope errors."""
    Resolver(chunk.chunkname).function_node(chunk.func)
    return chunk
