"""Compile a resolved syntax tree, once, into Python functions.

Each Lua function prototype becomes the Python source of a *factory*::

    def __proto_3(__up):          # run each time Lua creates a closure
        u0, u1 = __up             # the closure's upvalue cells
        def __f3(l2=None, *va):   # the Lua function itself
            ...
        return __f3

The whole chunk is one generated module, compiled by CPython once, so a Lua
call is one Python call, Lua locals are Python locals, and nothing
dispatches on node types at run time.  Generated code only ever contains
identifiers we made up and ``repr()`` literals: Lua source text can't
inject Python.

Variables (slots come from ``luapy.resolve``):

* ``l<slot>``  a local that no closure captures;
* ``c<slot>``  a captured local: a one-element list (a cell) shared with
  closures, so they capture it by reference;
* ``u<i>``     an upvalue: a cell received from the creating function;
* ``va``       the varargs tuple.

Expressions compile to Python expression text.  Fast paths are inlined
(``int + int`` with a range check, a field read from a table without a
metatable); everything else calls the runtime helpers of
``luapy.runtime.helpers``.  Operands that appear more than once in a template,
or whose evaluation could be disturbed by a later operand's side effects,
are first stored in temporaries, which keeps Lua's left-to-right order.

Accounting.  A Lua call costs one step and one level of call depth,
charged in the function's prologue: ``_depth += 1`` and a ``_steps``
countdown, both closure cells every generated function of the runtime
shares.  The prologue is the main cost of a budgeted call, so it is placed
lazily: the call-free statements a body starts with (its *lead*, like
``if n < 2 then return n end``) run before it, and a call that returns
from them costs nothing.  That stays safe: lead code can reach other Lua
code only through an operator's metamethod, and a metamethod with a lead of
its own is charged a level and a step as it is called
(``ops.call_metamethod``), so lead frames can't pile up uncounted.

Errors carry no position while raised.  Every generated function catches
``LuaException`` once, maps the Python line its frame was on back to the Lua
line (``LINES``), and stamps level-1 errors with ``chunk:line:`` — zero
cost until something fails.
"""

from __future__ import annotations

import math
import re
import types
import warnings

from . import ast
from .errors import LuaSyntaxError
from .resolve import GlobalRef, LocalVar, UpvalRef
from .runtime import ops
from .runtime.helpers import TableTemplate, TailCall, error_fixer, runtime_namespace, tail_runner
from .runtime.values import Function

#: One space: deep Lua nesting must not multiply the size of the source.
INDENT = " "
#: Past this many nested inline templates, results go to temporaries so the
#: generated source never hits CPython's parser nesting limits.
MAX_INLINE_DEPTH = 12
#: Numeric for loops nested deeper than this charge per iteration instead
#: of per chunk (a chunked loop is two Python loops; CPython caps nesting).
MAX_CHUNKED_NESTING = 6
#: String constants longer than this live in the namespace, not the source.
MAX_INLINE_STRING = 120
#: A constructor of constants with more fields than this (or any nested
#: one) becomes a ``TableTemplate`` in the namespace instead of source.
MIN_TEMPLATE_FIELDS = 8
_UNKNOWN = object()
#: An ``elseif`` chain with more conditions than this that need statements
#: of their own is compiled flat (``flat_if``) instead of nested.
MAX_NESTED_ELSE = 8
#: An ``if`` with more branches than this is compiled flat too.
MAX_ELIF_CHAIN = 32
#: A function with more source than this (its nested functions aside)
#: compiles *compact*: every operation calls its runtime helper instead of
#: inlining a fast path.  Inline fast paths are several times longer than
#: the Lua they stand for, and CPython's compiler holds over a hundred bytes
#: per character it compiles, so huge straight-line code (generated data,
#: long tables of expressions) would cost gigabytes; hot code lives in
#: small functions, which keep the fast paths.
COMPACT_FUNCTION_SIZE = 16384
#: What making a closure charges to the memory budget: a Python function,
#: its Function wrapper, and a cell per upvalue.
CLOSURE_COST = 400
UPVALUE_COST = 64

_SIMPLE = re.compile(r"(?:[lt]\d+|_t\d+|None|True|False|-?\d+|-?\d+\.\d+(?:e[-+]?\d+)?|INF|NINF|NAN|K\d+|'[^'\\]{0,40}')\Z")


class Proto:
    """A compiled Lua function prototype."""

    __slots__ = ("name", "line", "factory", "has_tail_calls", "lazy_prologue", "instantiate")

    def __init__(self, name: str, line: int):
        self.name = name
        self.line = line
        self.factory = None
        self.has_tail_calls = False
        #: Its body runs call-free statements before charging its call, so
        #: a metamethod call charges it up front (``ops.call_metamethod``).
        self.lazy_prologue = False
        self.instantiate = None


# ======================================================================
# the chunk: one generated module
# ======================================================================


class ChunkCompiler:
    def __init__(self, st, chunkname: str, budget=None):
        self.st = st
        self.chunkname = chunkname
        #: Charges the work to the running call's budgets when Lua code
        #: loads the chunk (``luapy.load.LoadBudget``), else None.
        self.budget = budget
        self.source: list[str] = []
        self.lines: list[int] = [0]  # Python line number -> Lua line
        #: Python line number -> how its calls name their callees.
        self.call_sites: dict[int, tuple] = {}
        #: How deep numeric for loops may still charge by chunk (two Python
        #: loops each); 0 on the retry of a chunk CPython found too nested.
        self.chunked_nesting = MAX_CHUNKED_NESTING
        self.constants: dict[str, object] = {}
        self.protos: list[Proto] = []
        self.label_ids: dict[int, int] = {}
        self.loop_ids: dict[int, int] = {}
        #: Table constructor id -> its ``TableTemplate`` or None.
        self.templates: dict[int, TableTemplate | None] = {}

    def constant(self, value) -> str:
        name = f"K{len(self.constants)}"
        self.constants[name] = value
        return name

    def table_template(self, node: ast.Table) -> TableTemplate | None:
        """The template of a constructor made only of constants, or None.

        Every nested constructor is examined once (``templates`` remembers
        the answer), however the nest is compiled.
        """
        known = self.templates.get(id(node), _UNKNOWN)
        if known is not _UNKNOWN:
            return known
        array = []
        pairs = []
        template = None
        for field in node.fields:
            value = self.constant_value(field.value)
            if value is None:
                break
            if field.key is None:
                array.append(value)
                continue
            key = self.constant_value(field.key)
            if key is None or type(key) is TableTemplate:
                break
            pairs.append((key, value))
        else:
            template = TableTemplate(array, pairs)
        self.templates[id(node)] = template
        return template

    def constant_value(self, node):
        """The Lua value of a constant expression (None if not constant)."""
        t = type(node)
        if t is ast.Number or t is ast.String:
            return node.value
        if t is ast.TrueExpr:
            return True
        if t is ast.FalseExpr:
            return False
        if t is ast.Table:
            return self.table_template(node)
        return None

    def label_id(self, label: ast.Label) -> int:
        return self.label_ids.setdefault(id(label), len(self.label_ids) + 1)

    def add_function(self, lines: list[tuple]) -> None:
        """Append a function's ``(indent, text, lua_line[, call sites])``."""
        for indent, text, lua_line, *sites in lines:
            # One level deeper: every factory is nested in ``__chunk``.
            self.source.append(INDENT * (indent + 1) + text)
            self.lines.append(lua_line)
            if sites:
                self.call_sites[len(self.lines) - 1] = sites[0]

    def module_source(self) -> str:
        """The generated module: the factories nested in ``__chunk``.

        ``__chunk`` only exists to declare ``_depth`` and ``_steps``, the
        variables every function shares through ``nonlocal``; its factories
        are later rebuilt around the runtime's own cells (``_bind_cells``).
        """
        header = ["def __chunk():", INDENT + "_depth = _steps = 0"]
        return "\n".join(header + self.source) + "\n"

    def compile(self, chunk: ast.Chunk, env) -> Function:
        main = FunctionCompiler(self, chunk.func).compile()
        namespace = runtime_namespace(self.st)
        namespace.update(self.constants)
        lines = [0, 0] + self.lines  # the two header lines of module_source
        namespace["LINES"] = lines
        namespace["CHUNKNAME"] = self.chunkname
        namespace["CALL_SITES"] = {number + 2: sites for number, sites in self.call_sites.items()}
        namespace["FIXERR"] = error_fixer(self.st)
        text = self.module_source()
        if self.budget is not None:
            self.budget.settle()    # CPython's compile below can't be interrupted
        try:
            with warnings.catch_warnings():
                # Templates may compare literals with ``is``; harmless.
                warnings.simplefilter("ignore")
                code = compile(text, f"<lua {self.chunkname}>", "exec")
        except (SyntaxError, RecursionError, MemoryError) as problem:
            # CPython's own limits (e.g. 20 nested loops) can refuse code
            # that Lua accepts; report it as a Lua compile error.
            python_line = getattr(problem, "lineno", None) or 0
            lua_line = lines[python_line] if 0 < python_line < len(lines) else 1
            raise LuaSyntaxError(f"{self.chunkname}:{lua_line}: chunk too complex to compile "
                                 f"({type(problem).__name__}: {getattr(problem, 'msg', problem)})") from None
        exec(code, namespace)
        factories = _bind_cells(namespace["__chunk"], namespace, self.st)
        for index, proto in enumerate(self.protos):
            proto.factory = factories[f"__proto_{index}"]
            proto.instantiate = _instantiator(self.st, proto)
            namespace[f"P{index}"] = proto.instantiate
        return main.instantiate(([env],))


def _bind_cells(chunk_function, namespace: dict, st) -> dict:
    """Build each factory with the runtime's depth and step cells.

    ``types.FunctionType`` accepts an explicit closure: the factories of
    every chunk a runtime loads then share the same two cells, so Lua calls
    and loops update them as cheap ``nonlocal`` variables.
    """
    cells = {"_depth": st.depth_cell, "_steps": st.steps_cell}
    factories = {}
    for const in chunk_function.__code__.co_consts:
        if isinstance(const, types.CodeType) and const.co_name.startswith("__proto_"):
            closure = tuple(cells[name] for name in const.co_freevars) or None
            factories[const.co_name] = types.FunctionType(const, namespace, const.co_name, None, closure)
    return factories


def _instantiator(st, proto: Proto):
    """The function generated code calls to make a closure of ``proto``.

    A closure is charged to the memory budget (``CLOSURE_COST`` plus
    ``UPVALUE_COST`` per upvalue) like any other allocation, so a loop
    that keeps making closures runs out of memory, not of the host's.
    """
    factory = proto.factory
    name = proto.name or "?"
    if not proto.has_tail_calls:
        def instantiate(upvals) -> Function:
            left = st.memory_left = st.memory_left - CLOSURE_COST - UPVALUE_COST * len(upvals)
            if left < 0:
                st.charge_memory(0)
            raw = factory(upvals)
            return Function(raw, name, proto, upvals, raw)
        return instantiate
    run_tail = tail_runner(st)

    def instantiate_trampolined(upvals) -> Function:
        left = st.memory_left = st.memory_left - CLOSURE_COST - UPVALUE_COST * len(upvals)
        if left < 0:
            st.charge_memory(0)
        raw = factory(upvals)

        def call(*args):
            result = raw(*args)
            if result.__class__ is TailCall:
                return run_tail(result)
            return result
        return Function(call, name, proto, upvals, raw)
    return instantiate_trampolined


# ======================================================================
# one function
# ======================================================================


class _Context:
    """A Python loop we generated: a Lua loop or a label block's dispatcher."""

    __slots__ = ("kind", "ident", "node", "uses_exception", "pc", "labels")

    def __init__(self, kind: str, ident: int, node):
        self.kind = kind  # "loop" or "labels"
        self.ident = ident
        self.node = node
        self.uses_exception = False
        self.pc = None
        self.labels: dict[int, int] = {}


class FunctionCompiler:
    def __init__(self, chunk: ChunkCompiler, node: ast.Function):
        self.chunk = chunk
        self.node = node
        self.scope = node.scope
        self.out: list[tuple[int, str, int]] = []
        self.indent = 0
        self.line = node.line
        self.temps = 0
        self.contexts: list[_Context] = []
        self.inline_depth = 0
        self.proto = Proto(node.name, node.line)
        #: Slots of numeric-for variables that can only ever hold integers.
        self.known_int: set[int] = set()
        self.index = len(chunk.protos)
        chunk.protos.append(self.proto)
        self.st = chunk.st
        self.budget = chunk.budget
        #: Helper calls instead of inline fast paths (``COMPACT_FUNCTION_SIZE``).
        self.compact = node.scope is not None and node.scope.own_size > COMPACT_FUNCTION_SIZE
        #: Call expressions not emitted yet, with how their call site names
        #: the callee: ``(text, (name, is_method))`` (see ``call_site``).
        self.pending_calls: list[tuple[str, tuple[str, bool]]] = []

    # -- output --------------------------------------------------------

    def emit(self, text: str, line: int | None = None) -> None:
        line = self.line if line is None else line
        if self.budget is not None:
            self.budget.emitted(len(text))
        if self.pending_calls:
            sites = tuple(site for expression, site in self.pending_calls if expression in text)
            if sites:
                self.pending_calls = [(e, s) for e, s in self.pending_calls if e not in text]
                self.out.append((self.indent, text, line, sites))
                return
        self.out.append((self.indent, text, line))

    def temp(self) -> str:
        self.temps += 1
        return f"_t{self.temps}"

    def materialize(self, expression: str, line: int | None = None) -> str:
        if _SIMPLE.match(expression):
            return expression
        name = self.temp()
        self.emit(f"{name} = {expression}", line)
        return name

    def capture(self, compile_fn):
        """Compile into a separate buffer; returns (result, lines)."""
        saved_out, saved_indent = self.out, self.indent
        self.out, self.indent = [], 0
        try:
            result = compile_fn()
            return result, self.out
        finally:
            self.out, self.indent = saved_out, saved_indent

    def splice(self, lines) -> None:
        for indent, *rest in lines:
            self.out.append((self.indent + indent, *rest))

    def prologue(self, overflow_level: int) -> None:
        """Charge this call a level of depth and a step (see "Accounting").

        No depth compare: the countdown is armed so that it runs out before
        the depth can pass the limit (``luapy.runtime.state``).  A runtime
        with neither a step nor a time budget has nothing to count down, so
        its calls only compare the depth with the limit.
        """
        limits = self.st.limits
        if limits.steps is None and limits.time is None:
            self.emit(f"if (_depth := _depth + 1) > {self.st.max_depth}: OVERFLOW({overflow_level})")
            return
        self.emit("_depth += 1")
        check = "st.budget_check()" if overflow_level == 1 else f"st.budget_check({overflow_level})"
        self.emit(f"if (_steps := _steps - 1) < 0: {check}")

    def budget_tick(self) -> None:
        if self.st.options.count_steps:
            self.emit("_steps -= 1")
            self.emit("if _steps < 0: st.budget_check()")

    def loop_tick(self, counter: str) -> None:
        """Charge a loop iteration: a local countdown, settled in batches."""
        if self.st.options.count_steps:
            self.emit(f"if ({counter} := {counter} - 1) < 0: {counter} = TICK()")

    # -- the function ----------------------------------------------------

    def compile(self) -> Proto:
        node = self.node
        scope = self.scope
        params = [f"l{v.slot}=None" for v in scope.params]
        params.append("*va" if scope.is_vararg else "*_")
        if node.name == "main chunk":
            trace_name = "main chunk"
        elif node.name:
            trace_name = f"function '{node.name}'"
        else:
            trace_name = f"function <{self.chunk.chunkname}:{node.line}>"
        header = []
        header.append((0, f"def __proto_{self.index}(__up):", node.line))
        if scope.upvalues:
            names = ", ".join(f"u{i}" for i in range(len(scope.upvalues)))
            header.append((1, f"{names}, = __up", node.line))
        header.append((1, f"def __f{self.index}({', '.join(params)}):", node.line))
        self.indent = 2
        counting = self.st.options.count_steps
        lead = _call_free_lead(node.body) if counting else 0
        self.proto.lazy_prologue = lead > 0
        if counting:
            self.emit("nonlocal _depth, _steps")
        for var in scope.params:
            if var.captured:
                self.emit(f"c{var.slot} = [l{var.slot}]")
        if counting and not lead:
            self.prologue(overflow_level=1)
        self.emit("try:")
        self.indent += 1
        if lead:
            self.lazy_body(node.body, lead)
        else:
            self.function_body(node.body)
        self.indent -= 1
        self.emit("except LuaException as _e:", node.end_line)
        self.emit(f"    FIXERR(_e, {trace_name!r})", node.end_line)
        self.emit("    raise", node.end_line)
        self.emit("except RecursionError:", node.end_line)
        self.emit("    raise LuaError('stack overflow') from None", node.end_line)
        if counting and not lead:
            self.epilogue()
        self.indent = 1
        self.emit(f"return __f{self.index}", node.end_line)
        self.chunk.add_function(header + self.out)
        return self.proto

    def function_body(self, body: ast.Block) -> None:
        start = len(self.out)
        self.block(body)
        if len(self.out) == start:
            self.emit("pass")
        self.emit("return ()", self.node.end_line)

    def lazy_body(self, body: ast.Block, lead: int) -> None:
        """The call-free lead, then the prologue and the rest ("Accounting")."""
        stats = body.body
        self.statements(stats[:lead])
        if lead == len(stats):
            self.emit("return ()", self.node.end_line)
            return
        # Inside this frame's handler, so an overflow names the caller's
        # line (level 2), as it does from the entry.
        self.prologue(overflow_level=2)
        self.emit("try:")
        self.indent += 1
        rest = ast.Block(stats[lead:], stats[lead].line, body.end_line)
        rest.scope = body.scope
        self.function_body(rest)
        self.indent -= 1
        self.epilogue()

    def epilogue(self) -> None:
        """Give back the level the prologue took, however the body ends."""
        self.emit("finally:", self.node.end_line)
        self.emit("    _depth -= 1", self.node.end_line)

    # -- blocks ------------------------------------------------------------

    def block(self, node: ast.Block, until=None) -> None:
        """Compile a block; ``until`` is a repeat loop's condition."""
        stats = node.body
        labels = [s for s in stats if type(s) is ast.Label]
        if labels and self._needs_dispatch(node, labels, until):
            self._label_block(node, stats, labels, until)
            return
        self.statements(stats, until)

    def statements(self, stats, until=None) -> None:
        for i, stat in enumerate(stats):
            if type(stat) is ast.Local and "close" in stat.attribs:
                self.stat_Local(stat)
                self._close_scope(stat, stats[i + 1:], until)
                return
            self.statement(stat)
        if until is not None:
            self._until(until)

    def _until(self, cond) -> None:
        self.line = cond.line
        test = self.test(cond)
        self.emit(f"if {test}: break")

    def statement(self, stat) -> None:
        self.line = stat.line
        if self.budget is not None:
            self.budget.node()
        getattr(self, "stat_" + type(stat).__name__)(stat)

    def _needs_dispatch(self, node, labels, until) -> bool:
        # A loop body whose labels all come last ("::continue::") needs no
        # dispatcher: its gotos become Python ``continue``.
        context = self.contexts[-1] if self.contexts else None
        trailing = all(type(s) is ast.Label for s in node.body[len(node.body) - len(labels):])
        if (context is not None and context.kind == "loop" and context.node is not None
                and context.node.body is node and until is None and trailing
                and type(context.node) is not ast.Repeat):
            for label in labels:
                context.labels[self.chunk.label_id(label)] = -1
            return False
        return True

    def _label_block(self, node, stats, labels, until) -> None:
        """A block owning labels: a dispatch loop over its segments."""
        ident = len(self.contexts) + 1000 * (self.index + 1) + self.temps
        context = _Context("labels", ident, None)
        context.pc = self.temp()
        segments: list[list] = [[]]
        for stat in stats:
            if type(stat) is ast.Label:
                context.labels[self.chunk.label_id(stat)] = len(segments)
                segments.append([])
            else:
                segments[-1].append(stat)
        pc = context.pc
        self.emit(f"{pc} = 0")
        self.emit("while True:")
        self.indent += 1
        self.contexts.append(context)

        def body():
            for number, segment in enumerate(segments):
                self.emit(f"if {pc} <= {number}:")
                self.indent += 1
                start = len(self.out)
                self.statements(segment)
                if len(self.out) == start:
                    self.emit("pass")
                self.indent -= 1
            self.emit("break")
        _, lines = self.capture(body)
        self.contexts.pop()
        if context.uses_exception:
            self.emit("try:")
            self.indent += 1
            self.splice(lines)
            self.indent -= 1
            self.emit("except GotoJump as _g:")
            self.indent += 1
            first = True
            for lid, seg in context.labels.items():
                self.emit(f"{'if' if first else 'elif'} _g.target == {lid}: {pc} = {seg}")
                first = False
            self.emit("else: raise")
            self.budget_tick()
            self.indent -= 1
        else:
            self.splice(lines)
        self.indent -= 1
        if until is not None:
            # The condition sees the body's locals, which outlive the
            # dispatch loop as Python locals.
            self._until(until)

    def _close_scope(self, stat: ast.Local, rest, until) -> None:
        var = stat.bindings[stat.attribs.index("close")]
        value = f"c{var.slot}[0]" if var.captured else f"l{var.slot}"
        self.emit(f"CHECK_CLOSABLE({value}, {var.name!r})")
        self.emit("_cerr = None")
        self.emit("try:")
        self.indent += 1
        start = len(self.out)
        self.statements(rest, until)
        if len(self.out) == start:
            self.emit("pass")
        self.indent -= 1
        self.emit("except LuaError as _ce:")
        self.emit("    _cerr = _ce")
        self.emit("    raise")
        self.emit("finally:")
        self.emit(f"    CLOSE({value}, _cerr)")

    # -- statements ------------------------------------------------------

    def stat_Label(self, node) -> None:
        pass

    def stat_Do(self, node: ast.Do) -> None:
        start = len(self.out)
        self.block(node.body)
        if len(self.out) == start:
            self.emit("pass")

    def stat_CallStat(self, node: ast.CallStat) -> None:
        self.emit(self.multi(node.call))

    def stat_Local(self, node: ast.Local) -> None:
        targets = node.bindings
        exprs = node.exprs
        if not exprs:
            for var in targets:
                self.emit(f"c{var.slot} = [None]" if var.captured else f"l{var.slot} = None")
            return
        if not _is_multi(exprs[-1]) or len(exprs) > len(targets):
            # Every expression runs; extra values are dropped, missing ones
            # are nil.
            values = self.operands(exprs)
            for i, value in enumerate(values):
                if i >= len(targets):
                    if _has_effects(exprs[i]):
                        self.emit(value)
                    continue
                var = targets[i]
                self.emit(f"c{var.slot} = [{value}]" if var.captured else f"l{var.slot} = {value}")
            for var in targets[len(values):]:
                self.emit(f"c{var.slot} = [None]" if var.captured else f"l{var.slot} = None")
            return
        values = self.explist(exprs)
        names = []
        for var in targets:
            names.append(f"_c{var.slot}" if var.captured else f"l{var.slot}")
        if len(targets) == 1 and len(exprs) == 1:
            first = f"(_v[0] if (_v := {values}) else None)"
            self.emit(f"{names[0]} = {first}")
        else:
            self.emit(f"{', '.join(names)}, = ADJUST({values}, {len(targets)})")
        for var in targets:
            if var.captured:
                self.emit(f"c{var.slot} = [_c{var.slot}]")

    def stat_LocalFunction(self, node: ast.LocalFunction) -> None:
        var = node.binding
        if var.captured:
            self.emit(f"c{var.slot} = [None]")
            self.emit(f"c{var.slot}[0] = {self.closure(node.func)}")
        else:
            self.emit(f"l{var.slot} = {self.closure(node.func)}")

    def stat_FunctionStat(self, node: ast.FunctionStat) -> None:
        self.assign([node.target], [node.func])

    def stat_Assign(self, node: ast.Assign) -> None:
        self.assign(node.targets, node.exprs)

    def assign(self, targets, exprs) -> None:
        if len(targets) == 1 and len(exprs) == 1:
            target = targets[0]
            if type(target) is ast.Name:
                self.store_name(target, self.expr(exprs[0]))
                return
            obj = self.expr(target.obj)
            obj = self.materialize(obj) if _has_effects(target.key) or _has_effects(exprs[0]) else obj
            key = self.expr(target.key)
            if _has_effects(exprs[0]):
                key = self.materialize(key)
            value = self.expr(exprs[0])
            self.store_index(obj, key, value, target, exprs[0])
            return
        # Evaluate every target's table and key, then every value, then
        # assign (the reference assigns right to left).
        places = []
        for target in targets:
            if type(target) is ast.Name:
                places.append((target, None, None))
            else:
                obj = self.materialize(self.expr(target.obj))
                key = self.materialize(self.expr(target.key))
                places.append((target, obj, key))
        if len(exprs) == len(targets) and not _is_multi(exprs[-1]):
            # Copy every value before assigning any: ``a, b = b, a``.
            values = []
            for value in self.operands(exprs, force=True):
                copy = self.temp()
                self.emit(f"{copy} = {value}")
                values.append(copy)
        else:
            tuple_name = self.temp()
            self.emit(f"{tuple_name} = ADJUST({self.explist(exprs)}, {len(targets)})")
            values = [f"{tuple_name}[{i}]" for i in range(len(targets))]
        for (target, obj, key), value in reversed(list(zip(places, values))):
            if obj is None:
                self.store_name(target, value)
            else:
                self.store_index(obj, key, value, target)

    def store_name(self, target: ast.Name, value: str) -> None:
        binding = target.binding
        if type(binding) is LocalVar:
            if binding.captured:
                self.emit(f"c{binding.slot}[0] = {value}")
            else:
                self.emit(f"l{binding.slot} = {value}")
        elif type(binding) is UpvalRef:
            self.emit(f"u{binding.index}[0] = {value}")
        else:
            env = self.name_value(binding.env)
            self.emit(f"SETFIELD({env}, {self.string(binding.name)}, {value}, {self.env_desc(binding)!r})")

    def store_index(self, obj: str, key: str, value: str, target, value_node=None) -> None:
        desc = self.describe(target.obj)
        if type(target.key) is ast.String:
            self.emit(f"SETFIELD({obj}, {key}, {value}, {desc!r})")
            return
        if self.compact:
            self.emit(f"SETINDEX({obj}, {key}, {value}, {desc!r})")
            return
        obj = _attributable(self.materialize(obj))
        key = self.materialize(key)
        value = self.materialize(value)
        key_check = "" if self.is_int(target.key) else f"type({key}) is int and "
        value_check = "" if value_node is not None and _never_nil(value_node, self) else f"{value} is not None and "
        # Storing into or appending to a plain table's array part inline;
        # everything else (holes, hash keys, metatables) goes to SETINDEX.
        self.emit(f"if type({obj}) is Table and {obj}.meta is None and {key_check}"
                  f"{value_check}0 < {key} <= len(_a := {obj}.arr) + 1 and not {obj}.hash:")
        self.emit(f"    if {key} > len(_a):")
        self.emit(f"        _a.append({value})")
        self.emit(f"        if not {key} & 63: CHARGE(APPEND_COST)")
        self.emit(f"    else: _a[{key} - 1] = {value}")
        self.emit(f"else: SETINDEX({obj}, {key}, {value}, {desc!r})")

    def stat_Return(self, node: ast.Return) -> None:
        exprs = node.exprs
        if len(exprs) == 1 and type(exprs[0]) in (ast.Call, ast.MethodCall):
            self.proto.has_tail_calls = True
            self.emit(f"return {self.tail_call(exprs[0])}")
            return
        if not exprs:
            self.emit("return ()")
        elif len(exprs) == 1 and type(exprs[0]) is ast.Vararg:
            self.emit("return va")
        else:
            self.emit(f"return {self.explist(exprs)}")

    def stat_Break(self, node: ast.Break) -> None:
        loop = None
        for context in reversed(self.contexts):
            if context.kind == "loop":
                loop = context
                break
        if self.contexts and self.contexts[-1] is loop:
            self.emit("break")
        else:
            loop.uses_exception = True
            self.emit(f"raise BreakJump({loop.ident})")

    def stat_Goto(self, node: ast.Goto) -> None:
        label_id = self.chunk.label_id(node.target)
        for depth, context in enumerate(reversed(self.contexts)):
            segment = context.labels.get(label_id)
            if segment is None:
                continue
            direct = depth == 0
            if segment == -1:  # a loop's trailing label: "continue"
                if direct:
                    self.emit("continue")
                    return
            elif direct:
                self.emit(f"{context.pc} = {segment}")
                self.budget_tick()
                self.emit("continue")
                return
            context.uses_exception = True
            self.emit(f"raise GotoJump({label_id})")
            return
        raise AssertionError("goto target not in an enclosing block")

    def stat_If(self, node: ast.If) -> None:
        tests = [(cond, *self.capture_test(cond)) for cond, _ in node.tests]
        if (len(tests) > MAX_ELIF_CHAIN
                or sum(1 for _, _, lines, _ in tests[1:] if lines) > MAX_NESTED_ELSE):
            self.flat_if(node, tests)
            return
        first = True
        opened = 0
        for (cond, body), (_, test, lines, calls) in zip(node.tests, tests):
            self.line = cond.line
            self.pending_calls += calls
            if first:
                self.splice(lines)
                self.emit(f"if {test}:")
            elif lines:
                self.emit("else:")
                self.indent += 1
                opened += 1
                self.splice(lines)
                self.emit(f"if {test}:")
            else:
                self.emit(f"elif {test}:")
            first = False
            self.indent += 1
            start = len(self.out)
            self.block(body)
            if len(self.out) == start:
                self.emit("pass")
            self.indent -= 1
        if node.orelse is not None and node.orelse.body:
            self.emit("else:")
            self.indent += 1
            start = len(self.out)
            self.block(node.orelse)
            if len(self.out) == start:
                self.emit("pass")
            self.indent -= 1
        self.indent -= opened

    def capture_test(self, cond) -> tuple[str, list, list]:
        """A condition's test text, the statements it needs first, and the
        calls in its text (``pending_calls``) kept aside until it is
        emitted, so the bodies compiled meanwhile don't scan them."""
        self.line = cond.line
        saved = self.pending_calls
        self.pending_calls = []
        try:
            test, lines = self.capture(lambda: self.test(cond))
            return test, lines, self.pending_calls
        finally:
            self.pending_calls = saved

    def flat_if(self, node: ast.If, tests) -> None:
        """An ``elseif`` chain whose conditions need statements of their own.

        Nesting each in the previous ``else`` would indent the source
        without bound (CPython refuses 100 levels), and CPython compiles
        an ``elif`` chain by recursion, so a long one exhausts its stack.
        Instead the conditions run one after another until one holds,
        recording which in a temporary, and one ``if`` per body, all at the
        same depth, runs the chosen one.
        """
        chosen = self.temp()
        self.emit(f"{chosen} = 0")
        for number, (cond, test, lines, calls) in enumerate(tests, 1):
            self.line = cond.line
            if number > 1:
                self.emit(f"if not {chosen}:")
                self.indent += 1
            self.splice(lines)
            self.pending_calls += calls
            self.emit(f"if {test}: {chosen} = {number}")
            if number > 1:
                self.indent -= 1
        bodies = list(enumerate((body for _, body in node.tests), 1))
        if node.orelse is not None:
            bodies.append((0, node.orelse))
        for number, body in bodies:
            self.emit(f"if {chosen} == {number}:", body.line)
            self.indent += 1
            start = len(self.out)
            self.block(body)
            if len(self.out) == start:
                self.emit("pass")
            self.indent -= 1

    def _loop(self, node, header_lines, header: str, prologue=None, until=None,
              chunks: str | None = None) -> None:
        """Emit a Python loop for a Lua loop, handling exceptional jumps.

        With ``chunks`` (an expression yielding iterables whose iterations
        were charged in advance), the loop is two Python loops and the body
        carries no per-iteration accounting.
        """
        line = self.line
        ident = len(self.chunk.loop_ids) + 1
        self.chunk.loop_ids[id(node)] = ident
        context = _Context("loop", ident, node)
        self.contexts.append(context)

        counter = self.temp() if self.st.options.count_steps and chunks is None else None

        def body():
            if prologue:
                prologue()
            if counter:
                self.loop_tick(counter)
            start = len(self.out)
            self.block(node.body, until)
            if len(self.out) == start:
                self.emit("pass")
        _, lines = self.capture(body)
        self.contexts.pop()
        self.splice(header_lines)
        if counter:
            self.emit(f"{counter} = 0", line)
        if chunks is not None:
            # for chunk in chunks: for var in chunk: body, where a break in
            # the body must also leave the outer loop (for/else idiom).
            self.emit(f"for _chunk in {chunks}:", line)
            self.indent += 1
        self.emit(header, line)
        self.indent += 1
        if context.uses_exception:
            # Jumps that had to cross an inner Python loop arrive as
            # exceptions: a break, or a goto to this body's trailing label.
            self.emit("try:", line)
            self.indent += 1
            self.splice(lines)
            self.indent -= 1
            self.emit("except BreakJump as _b:", line)
            self.emit(f"    if _b.target != {ident}: raise", line)
            self.emit("    break", line)
            if context.labels:
                targets = ", ".join(str(label) for label in context.labels)
                self.emit("except GotoJump as _g:", line)
                self.emit(f"    if _g.target not in ({targets},): raise", line)
        else:
            self.splice(lines)
        self.indent -= 1
        if chunks is not None:
            self.emit("else:", line)
            self.emit("    continue", line)
            self.emit("break", line)
            self.indent -= 1

    def stat_While(self, node: ast.While) -> None:
        test, lines = self.capture(lambda: self.test(node.cond))
        if not lines:
            self._loop(node, [], f"while {test}:")
            return

        def prologue():
            self.splice(lines)
            self.emit(f"if not ({test}): break")
        self._loop(node, [], "while True:", prologue)

    def stat_Repeat(self, node: ast.Repeat) -> None:
        self._loop(node, [], "while True:", until=node.cond)

    def stat_NumericFor(self, node: ast.NumericFor) -> None:
        step_node = node.step if node.step is not None else ast.Number(1, node.line)
        start, stop, step = self.operands([node.start, node.stop, step_node])
        var = node.binding
        loop_var = f"l{var.slot}" if not var.captured else "_fi"
        if (_is_int_literal(node.start) and _is_int_literal(step_node) and not var.captured
                and not _assigns_to(node.body, var)):
            self.known_int.add(var.slot)

        def prologue():
            if var.captured:
                self.emit(f"c{var.slot} = [_fi]")
        # Charging iterations a chunk at a time keeps accounting out of the
        # body; CPython allows only 20 nested blocks, so deep nests use the
        # per-iteration countdown instead of a second Python loop.
        if self.st.options.count_steps and len(self.contexts) < self.chunk.chunked_nesting:
            self._loop(node, [], f"for {loop_var} in _chunk:", prologue,
                       chunks=f"FORCHUNKS({start}, {stop}, {step})")
        else:
            self._loop(node, [], f"for {loop_var} in FORRANGE({start}, {stop}, {step}):", prologue)

    def stat_GenericFor(self, node: ast.GenericFor) -> None:
        values = self.explist(node.exprs)
        names = []
        for var in node.bindings:
            names.append(f"_g{var.slot}" if var.captured else f"l{var.slot}")
        count = len(names)
        target = names[0] if count == 1 else ", ".join(names)

        def prologue():
            for var in node.bindings:
                if var.captured:
                    self.emit(f"c{var.slot} = [_g{var.slot}]")
        self._loop(node, [], f"for {target} in GENFOR({values}, {count}):", prologue)

    # -- expressions -----------------------------------------------------

    def expr(self, node) -> str:
        """Python expression text for the single value of ``node``."""
        if self.budget is not None:
            self.budget.node()
        line = node.line
        if line != self.line and line and type(node) in _ERRING_NODES:
            # Give an expression on its own line its own Python statement,
            # so errors in it name its line.
            saved = self.line
            self.line = line
            try:
                return self.materialize(getattr(self, "expr_" + type(node).__name__)(node), line)
            finally:
                self.line = saved
        self.inline_depth += 1
        try:
            result = getattr(self, "expr_" + type(node).__name__)(node)
        finally:
            self.inline_depth -= 1
        if self.inline_depth >= MAX_INLINE_DEPTH:
            return self.materialize(result)
        return result

    def simple(self, node) -> str:
        """Like ``expr`` but always a name or a literal (safe to repeat)."""
        return self.materialize(self.expr(node))

    def operands(self, nodes, force: bool = False) -> list[str]:
        """Evaluate ``nodes`` left to right, protecting earlier values."""
        # The last operand with effects: every value before it is fixed
        # in a temporary first (one pass, so long lists stay linear).
        last_effect = -1
        if not force:
            for i in range(len(nodes) - 1, -1, -1):
                if _has_effects(nodes[i]):
                    last_effect = i
                    break
        results = []
        for i, node in enumerate(nodes):
            value = self.expr(node)
            if force or i < last_effect:
                value = self.materialize(value)
            results.append(value)
        return results

    def string(self, value: str) -> str:
        if len(value) > MAX_INLINE_STRING:
            return self.chunk.constant(value)
        return repr(value)

    def expr_Nil(self, node) -> str:
        return "None"

    def expr_TrueExpr(self, node) -> str:
        return "True"

    def expr_FalseExpr(self, node) -> str:
        return "False"

    def expr_Number(self, node) -> str:
        value = node.value
        if type(value) is int:
            return repr(value)
        if value != value:
            return "NAN"
        if value == math.inf:
            return "INF"
        if value == -math.inf:
            return "NINF"
        return repr(value)

    def expr_String(self, node) -> str:
        return self.string(node.value)

    def expr_Vararg(self, node) -> str:
        return "(va[0] if va else None)"

    def expr_Paren(self, node) -> str:
        return self.expr(node.expr)

    def expr_Function(self, node) -> str:
        return self.closure(node)

    def closure(self, node: ast.Function) -> str:
        inner = FunctionCompiler(self.chunk, node)
        inner.compile()
        cells = []
        for kind, index in node.scope.upvalues:
            if kind == "local":
                cells.append(f"c{index}")
            else:
                cells.append(f"u{index}")
        upvals = "(" + ", ".join(cells) + ("," if len(cells) == 1 else "") + ")"
        return f"P{inner.index}({upvals})"

    def expr_Name(self, node) -> str:
        return self.name_value(node.binding)

    def name_value(self, binding) -> str:
        if type(binding) is LocalVar:
            return f"c{binding.slot}[0]" if binding.captured else f"l{binding.slot}"
        if type(binding) is UpvalRef:
            return f"u{binding.index}[0]"
        if self.compact:
            reader = "GLOBAL_L" if type(binding.env) is LocalVar else "GLOBAL_U"
            return f"{reader}({self.name_value(binding.env)}, {self.string(binding.name)})"
        env = self.simple_name(binding.env)
        return self.field_read(env, self.string(binding.name), self.env_desc(binding))

    def simple_name(self, binding) -> str:
        value = self.name_value(binding)
        return value if _SIMPLE.match(value) else self.materialize(value)

    def env_desc(self, binding: GlobalRef) -> str:
        """How lua5.4 names the ``_ENV`` a global lives in, should it not be
        indexable (``load(s, n, "t", nil)``)."""
        return "local '_ENV'" if type(binding.env) is LocalVar else "upvalue '_ENV'"

    def field_read(self, obj: str, key: str, desc, result: str = "_v") -> str:
        """``obj[key]`` for a string ``key``: the hash part of a plain table
        inline, ``INDEX`` otherwise.  ``obj`` must be safe to repeat."""
        if self.compact:
            return f"INDEX({obj}, {key}, {desc!r})"
        obj = _attributable(obj)
        return (f"({result} if type({obj}) is Table and (({result} := {obj}.hash.get({key})) is not None "
                f"or {obj}.meta is None) else INDEX({obj}, {key}, {desc!r}))")

    def is_int(self, node) -> bool:
        """Is ``node`` certainly an integer (a literal or a plain int loop variable)?"""
        if _is_int_literal(node):
            return True
        return (type(node) is ast.Name and type(node.binding) is LocalVar
                and not node.binding.captured and node.binding.slot in self.known_int)

    def describe(self, node) -> str | None:
        """How lua5.4 names ``node`` in an error message."""
        t = type(node)
        if t is ast.Name:
            binding = node.binding
            if type(binding) is LocalVar:
                return f"local '{node.name}'"
            if type(binding) is UpvalRef:
                return f"upvalue '{node.name}'"
            return f"global '{node.name}'"
        if t is ast.Index:
            key = node.key
            if type(key) is ast.String:
                if type(node.obj) is ast.Name and node.obj.name == "_ENV":
                    return f"global '{key.value}'"
                return f"field '{key.value}'"
            if type(key) is ast.Number and type(key.value) is int and 0 <= key.value <= 255:
                return "field 'integer index'"  # lua5.4's wording for t[<small int>]
            return "field '?'"
        if t is ast.String:
            return f"constant '{node.value.split(chr(0))[0]}'"  # a C string ends at NUL
        if t is ast.Paren:
            return self.describe(node.expr)
        if t is ast.BinOp and node.op in ("and", "or"):
            # lua5.4 folds `const and x` / `const or x` at compile time, so
            # the value is named after whichever operand is chosen.
            truth = _constant_truth(node.left)
            if truth is not None:
                chosen = node.right if truth == (node.op == "and") else node.left
                return self.describe(chosen)
        return None

    def expr_Index(self, node) -> str:
        desc = self.describe(node.obj)
        if type(node.key) is ast.String:
            obj = self.simple(node.obj)
            return self.field_read(obj, self.string(node.key.value), desc)
        if self.compact:
            obj, key = self.operands([node.obj, node.key])
            return f"INDEX({obj}, {key}, {desc!r})"
        key_node = node.key
        if type(key_node) is ast.Number and type(key_node.value) is int and key_node.value >= 1:
            k = key_node.value
            obj = _attributable(self.simple(node.obj))
            return (f"(_v if type({obj}) is Table and ((_v := ({obj}.arr[{k - 1}] if len({obj}.arr) >= {k} "
                    f"else {obj}.hash.get({k}))) is not None or {obj}.meta is None) else INDEX({obj}, {k}, {desc!r}))")
        obj, key = self.operands([node.obj, node.key], force=True)
        obj = _attributable(self.materialize(obj))
        key = self.materialize(key)
        int_check = "" if self.is_int(node.key) else f"type({key}) is int and "
        return (f"(_v if type({obj}) is Table and ((_v := ({obj}.arr[{key} - 1] if {int_check}"
                f"0 < {key} <= len({obj}.arr) else {obj}.get({key}))) is not None or {obj}.meta is None) "
                f"else INDEX({obj}, {key}, {desc!r}))")

    # -- calls -------------------------------------------------------------

    def arguments(self, args) -> str:
        """Argument list text (``a, b, *rest``) evaluated left to right."""
        if not args:
            return ""
        if _is_multi(args[-1]):
            # The expanded call runs last; earlier arguments are fixed first.
            head = [self.materialize(h) for h in self.operands(args[:-1], force=True)]
            tail = self.materialize(self.multi(args[-1]))
            return ", ".join(head + [f"*{tail}"])
        # Call templates mention the arguments twice (fast and slow branch):
        # keep them as names so the source never grows with nesting.
        return ", ".join([self.materialize(a) for a in self.operands(args)])

    def multi(self, node) -> str:
        """Python expression text for the tuple of all values of ``node``."""
        t = type(node)
        if t is ast.Call:
            return self.call(node)
        if t is ast.MethodCall:
            return self.method_call(node)
        if t is ast.Vararg:
            return "va"
        return f"({self.expr(node)},)"

    def call(self, node: ast.Call) -> str:
        desc = self.describe(node.func)
        function = self.expr(node.func)
        if node.args and _SIMPLE.match(function) is None and any(_has_effects(a) for a in node.args):
            function = self.materialize(function)
        args = self.arguments(node.args)
        packed = f"({args},)" if args else "()"
        if self.compact:
            return self.call_site(f"CALL({function}, {packed}, {desc!r})", desc)
        return self.call_site(f"(_f.call({args}) if type(_f := {function}) is Function "
                              f"else CALL(_f, {packed}, {desc!r}))", desc)

    def method_call(self, node: ast.MethodCall) -> str:
        obj = _attributable(self.simple(node.obj))
        desc = self.describe(node.obj)
        key = self.string(node.name)
        method = self.materialize(self.field_read(obj, key, desc, result="_m"))
        args = self.arguments(node.args)
        all_args = obj + (", " + args if args else "")
        packed = f"({all_args},)"
        desc = f"method '{node.name}'"
        if self.compact:
            return self.call_site(f"CALL({method}, {packed}, {desc!r})", desc)
        return self.call_site(f"({method}.call({all_args}) if type({method}) is Function "
                              f"else CALL({method}, {packed}, {desc!r}))", desc)

    def call_site(self, expression: str, desc: str | None) -> str:
        """Remember how this call names its callee, for argument errors.

        The Python line the call lands on maps to ``(name, is_method)``
        (``ChunkCompiler.call_sites``), which ``error_fixer`` uses to word
        a builtin's ``ArgumentError`` the way lua5.4 does.
        """
        if desc is not None:
            kind, _, quoted = desc.partition(" ")
            self.pending_calls.append((expression, (quoted[1:-1], kind == "method")))
        return expression

    def tail_call(self, node) -> str:
        if type(node) is ast.MethodCall:
            obj = _attributable(self.simple(node.obj))
            desc = self.describe(node.obj)
            key = self.string(node.name)
            method = self.materialize(self.field_read(obj, key, desc, result="_m"))
            args = self.arguments(node.args)
            all_args = obj + (", " + args if args else "")
            desc = f"method '{node.name}'"
            return self.call_site(f"(TailCall({method}, ({all_args},), {desc!r}) if type({method}) is Function "
                                  f"and {method}.raw is not None else CALL({method}, ({all_args},), {desc!r}))", desc)
        desc = self.describe(node.func)
        function = _attributable(self.simple(node.func))
        args = self.arguments(node.args)
        packed = "()" if not args else f"({args},)"
        # Only Lua functions need the trampoline; builtins and __call run
        # here, so their errors are positioned at this line as in lua5.4.
        return self.call_site(f"(TailCall({function}, {packed}, {desc!r}) if type({function}) is Function "
                              f"and {function}.raw is not None else CALL({function}, {packed}, {desc!r}))", desc)

    def expr_Call(self, node) -> str:
        return f"(_v[0] if (_v := {self.call(node)}) else None)"

    def expr_MethodCall(self, node) -> str:
        return f"(_v[0] if (_v := {self.method_call(node)}) else None)"

    def explist(self, nodes) -> str:
        """Python expression text for the tuple of an expression list."""
        if not nodes:
            return "()"
        if _is_multi(nodes[-1]):
            if len(nodes) == 1:
                return self.multi(nodes[0])
            head = [self.materialize(v) for v in self.operands(nodes[:-1], force=True)]
            return f"({', '.join(head)}, *{self.multi(nodes[-1])})"
        values = self.operands(nodes)
        return f"({', '.join(values)},)"

    # -- tables --------------------------------------------------------------

    def expr_Table(self, node) -> str:
        fields = node.fields
        if not fields:
            return "NEWTABLE()"
        template = self.chunk.table_template(node)
        if template is not None and (template.nested or len(fields) > MIN_TEMPLATE_FIELDS):
            return f"NEWCONST({self.chunk.constant(template)})"
        positional = [f for f in fields if f.key is None]
        keyed = [f for f in fields if f.key is not None]
        expands = bool(positional) and fields[-1].key is None and _is_multi(fields[-1].value)
        # Evaluate every field in source order.
        order = []
        for f in fields:
            if f.key is not None:
                order.append(f.key)
            order.append(f.value)
        if expands:
            order = order[:-1]
        values = self.operands(order, force=len(order) > 1 and any(_has_effects(n) for n in order))
        if expands and values:
            values = [self.materialize(v) for v in values]
        it = iter(values)
        items = []
        pairs = []
        for f in fields:
            if f is fields[-1] and expands:
                break
            if f.key is not None:
                k = next(it)
                v = next(it)
                pairs.append(f"{k}, {v}")
            else:
                items.append(next(it))
        if expands:
            items.append("*" + self.multi(fields[-1].value))
        array = "[" + ", ".join(items) + "]"
        if not keyed:
            return f"NEWARRAY({array})"
        return f"NEWTABLE({array}, ({', '.join(pairs)},))"

    # -- operators ---------------------------------------------------------

    def expr_BinOp(self, node) -> str:
        op = node.op
        if op == "and" or op == "or":
            return self.logical(node)
        if op in _COMPARISONS:
            return self.comparison(node)
        return self.arithmetic(node)

    def logical(self, node) -> str:
        left = self.simple(node.left)
        right, lines = self.capture(lambda: self.expr(node.right))
        truthy = f"({left} is not None and {left} is not False)"
        condition = truthy if node.op == "and" else f"not {truthy}"
        if not lines:
            return f"({right} if {condition} else {left})"
        result = self.temp()
        self.emit(f"{result} = {left}")
        self.emit(f"if {condition}:")
        self.indent += 1
        self.splice(lines)
        self.emit(f"{result} = {right}")
        self.indent -= 1
        return result

    def arithmetic(self, node) -> str:
        op = node.op
        descs = f"{self.describe(node.left)!r}, {self.describe(node.right)!r}"
        if self.compact:
            left, right = self.operands([node.left, node.right])
            return f"ARITH({op!r}, {left}, {right}, {descs})"
        left, right = self.operands([node.left, node.right], force=True)
        left = self.materialize(left)
        right = self.materialize(right)
        slow = f"ARITH({op!r}, {left}, {right}, {descs})"
        right_int = self.is_int(node.right)
        left_int = self.is_int(node.left)
        checks = []
        if not left_int:
            checks.append(f"type({left}) is int")
        if not right_int:
            checks.append(f"type({right}) is int")
        both_int = " and ".join(checks) if checks else "True"
        right_positive = _is_int_literal(node.right) and node.right.value > 0
        if op in ("+", "-", "*"):
            if op == "-" and right_positive:
                bound = f"(_r := {left} - {right}) >= MININT"
            elif op == "+" and right_positive:
                bound = f"(_r := {left} + {right}) <= MAXINT"
            else:
                bound = f"MININT <= (_r := {left} {op} {right}) <= MAXINT"
            return f"(_r if {both_int} and {bound} else {slow})"
        if op == "%":
            return f"({left} % {right} if {both_int} and {right} else {slow})"
        if op == "//":
            return f"({left} // {right} if {both_int} and {right} > 0 else {slow})"
        if op in ("&", "|", "~"):
            python_op = "^" if op == "~" else op
            return f"({left} {python_op} {right} if {both_int} else {slow})"
        if op == "..":
            return f"CONCAT(({left}, {right}), ({descs}))"
        return slow

    def comparison(self, node) -> str:
        op = node.op
        right_node = node.right
        if op in ("==", "~=") and type(right_node) in (ast.String, ast.Nil, ast.TrueExpr, ast.FalseExpr):
            left = self.expr(node.left)
            equal = op == "=="
            if type(right_node) is ast.String:
                return f"({left} {'==' if equal else '!='} {self.string(right_node.value)})"
            constant = {ast.Nil: "None", ast.TrueExpr: "True", ast.FalseExpr: "False"}[type(right_node)]
            return f"({left} {'is' if equal else 'is not'} {constant})"
        if self.compact:
            left, right = self.operands([node.left, node.right])
            if op in ("==", "~="):
                return f"({'' if op == '==' else 'not '}EQ({left}, {right}))"
            if op in (">", ">="):
                # LT/LE take their operands swapped: fix the order first.
                left, right = self.materialize(left), self.materialize(right)
                return f"{'LT' if op == '>' else 'LE'}({right}, {left})"
            return f"{'LT' if op == '<' else 'LE'}({left}, {right})"
        left, right = self.operands([node.left, node.right], force=True)
        left = self.materialize(left)
        right = self.materialize(right)
        if op in ("==", "~="):
            if self.is_int(node.left) and self.is_int(right_node):
                result = f"({left} == {right})"
            else:
                result = (f"({left} == {right} if type({left}) is type({right}) and type({left}) is not Table "
                          f"else EQ({left}, {right}))")
            return result if op == "==" else f"(not {result})"
        conditions = [f"type({operand}) is int" for operand, node_ in ((left, node.left), (right, right_node))
                      if not self.is_int(node_)]
        checks = " and ".join(conditions) if conditions else "True"
        if op == "<":
            return f"({left} < {right} if {checks} else LT({left}, {right}))"
        if op == "<=":
            return f"({left} <= {right} if {checks} else LE({left}, {right}))"
        if op == ">":
            return f"({left} > {right} if {checks} else LT({right}, {left}))"
        return f"({left} >= {right} if {checks} else LE({right}, {left}))"

    def expr_Concat(self, node) -> str:
        descs = ", ".join(repr(self.describe(o)) for o in node.operands)
        if self.compact:
            return f"CONCAT(({', '.join(self.operands(node.operands))},), ({descs},))"
        values = [self.materialize(v) for v in self.operands(node.operands, force=True)]
        if len(values) == 2:
            a, b = values
            return (f"({a} + {b} if type({a}) is str and type({b}) is str and CHARGE({ops.STRING_COST} + len({a}) + len({b})) "
                    f"else CONCAT(({a}, {b}), ({descs},)))")
        return f"CONCAT(({', '.join(values)},), ({descs},))"

    def expr_UnOp(self, node) -> str:
        op = node.op
        desc = self.describe(node.operand)
        if op == "not":
            value = self.simple(node.operand)
            return f"({value} is None or {value} is False)"
        if self.compact:
            helper = {"-": "NEG", "#": "LEN", "~": "BNOT"}[op]
            return f"{helper}({self.expr(node.operand)}, {desc!r})"
        value = self.simple(node.operand)
        if op == "-":
            return f"(-{value} if type({value}) is int and {value} != MININT else NEG({value}, {desc!r}))"
        if op == "#":
            value = _attributable(value)
            return (f"(len({value}) if type({value}) is str else len({value}.arr) "
                    f"if type({value}) is Table and {value}.meta is None else LEN({value}, {desc!r}))")
        return f"BNOT({value}, {desc!r})"

    # -- conditions ----------------------------------------------------------

    def test(self, node) -> str:
        """Python expression text for the truthiness of ``node``."""
        t = type(node)
        if t is ast.BinOp and node.op in _COMPARISONS:
            return self.comparison(node)
        if t is ast.UnOp and node.op == "not":
            inner = self.test(node.operand)
            return f"(not {inner})"
        if t is ast.TrueExpr:
            return "True"
        if t is ast.BinOp and node.op in ("and", "or"):
            left = self.test(node.left)
            right, lines = self.capture(lambda: self.test(node.right))
            if not lines:
                return f"({left} {node.op} {right})"
            result = self.temp()
            self.emit(f"{result} = {left}")
            self.emit(f"if {'' if node.op == 'and' else 'not '}{result}:")
            self.indent += 1
            self.splice(lines)
            self.emit(f"{result} = {right}")
            self.indent -= 1
            return result
        value = self.simple(node)
        return f"({value} is not None and {value} is not False)"


_COMPARISONS = frozenset(("==", "~=", "<", "<=", ">", ">="))
_ERRING_NODES = (ast.Index, ast.Call, ast.MethodCall, ast.BinOp, ast.UnOp, ast.Concat)


def _constant_truth(node):
    """The truthiness of a constant expression, or None if not constant."""
    t = type(node)
    if t in (ast.Number, ast.String, ast.TrueExpr):
        return True
    if t in (ast.Nil, ast.FalseExpr):
        return False
    return None


def _is_int_literal(node) -> bool:
    return type(node) is ast.Number and type(node.value) is int


def _never_nil(node, compiler) -> bool:
    """Can ``node`` be proven non-nil at compile time?"""
    t = type(node)
    return (t in (ast.Number, ast.String, ast.TrueExpr, ast.FalseExpr, ast.Table, ast.Function,
                  ast.Concat) or compiler.is_int(node))


def _assigns_to(block: ast.Block, var: LocalVar) -> bool:
    """Does any statement in ``block`` (nested blocks included) assign ``var``?"""
    pending = [block]
    while pending:
        current = pending.pop()
        for stat in current.body:
            t = type(stat)
            if t is ast.Assign or t is ast.FunctionStat:
                targets = stat.targets if t is ast.Assign else [stat.target]
                if any(type(x) is ast.Name and x.binding is var for x in targets):
                    return True
            elif t in (ast.Do, ast.While, ast.Repeat, ast.NumericFor, ast.GenericFor):
                pending.append(stat.body)
            elif t is ast.If:
                pending.extend(body for _, body in stat.tests)
                if stat.orelse is not None:
                    pending.append(stat.orelse)
    return False


def _attributable(expression: str) -> str:
    """Parenthesise literals so ``X.attr`` in a template is valid Python."""
    if expression[:1].isdigit() or expression[:1] in "'\"-" or expression in ("None", "True", "False"):
        return f"({expression})"
    return expression


def _is_multi(node) -> bool:
    return type(node) in (ast.Call, ast.MethodCall, ast.Vararg)


def _call_free_lead(body: ast.Block) -> int:
    """How many of a function's first statements may run before its prologue.

    They must make no call, and hold no ``goto``, label or ``<close>``
    local, so control can only leave them by falling through to the
    prologue, by ``return`` or by an error (see "Accounting").
    """
    if any(type(stat) is ast.Label for stat in body.body):
        return 0
    lead = 0
    for stat in body.body:
        if not _call_free(stat):
            break
        lead += 1
    return lead


#: A generic ``for`` calls its iterator: it ends the lead like a call.
_JUMPS_OR_CALLS = (ast.Call, ast.MethodCall, ast.Goto, ast.Label, ast.GenericFor)


def _call_free(node) -> bool:
    """No call, jump, label or ``<close>`` in ``node``, closures aside."""
    pending = [node]
    while pending:
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


def _has_effects(node) -> bool:
    """Could evaluating ``node`` run code or change variables?"""
    t = type(node)
    if t in (ast.Nil, ast.TrueExpr, ast.FalseExpr, ast.Number, ast.String, ast.Vararg, ast.Function):
        return False
    if t is ast.Name:
        return type(node.binding) is GlobalRef
    if t is ast.Paren:
        return _has_effects(node.expr)
    if t is ast.UnOp and node.op == "not":
        return _has_effects(node.operand)
    if t is ast.BinOp and node.op in ("and", "or"):
        return _has_effects(node.left) or _has_effects(node.right)
    return True


def compile_chunk(st, chunk: ast.Chunk, env, budget=None) -> Function:
    """Compile a resolved chunk into a Function whose ``_ENV`` is ``env``,
    charging the work to ``budget`` if given (``luapy.load.LoadBudget``)."""
    try:
        return ChunkCompiler(st, chunk.chunkname, budget).compile(chunk, env)
    except LuaSyntaxError:
        # Too nested for CPython?  One Python loop per numeric for, and the
        # chunk may fit (a few more nested loops; slower, still exact).
        retry = ChunkCompiler(st, chunk.chunkname, budget)
        retry.chunked_nesting = 0
        return retry.compile(chunk, env)


def generated_source(st, chunk: ast.Chunk) -> str:
    """The Python source a chunk compiles to (for ``luapy --dump-python``)."""
    compiler = ChunkCompiler(st, chunk.chunkname)
    FunctionCompiler(compiler, chunk.func).compile()
    return compiler.module_source()
