"""``FunctionCompiler``: one Lua function prototype as one Python function.

The class is put together from one part per job (statements, expressions,
calls); this module holds what they share: the output buffer with its
line map, temporaries, and the function's frame (parameters, prologue,
error handler).  Another back end (say, a generator form of every
function) would be another such assembly, not a copy of this class.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .. import ast
from .analysis import call_free_lead, is_int_literal
from .calls import CallCompiler
from .expressions import ExpressionCompiler
from ..runtime.frames import QuietLine
from .statements import StatementCompiler, last_token_line, local_names
from .templates import SIMPLE

if TYPE_CHECKING:
    from ..resolve import LocalVar
    from .chunk import ChunkCompiler
    from .statements import LoopContext

#: A function with more source than this (its nested functions aside)
#: compiles *compact*: every operation calls its runtime helper instead of
#: inlining a fast path.  Inline fast paths are several times longer than
#: the Lua they stand for, and CPython's compiler holds over a hundred bytes
#: per character it compiles, so huge straight-line code (generated data,
#: long tables of expressions) would cost gigabytes; hot code lives in
#: small functions, which keep the fast paths.
COMPACT_FUNCTION_SIZE = 16384
#: A self-recursive function's single-result form gets a copy of its body
#: specialised for integer parameters (``integer_parameters``) when the
#: body is at most this many Python lines and this deeply indented: small
#: functions like ``fib``, where the tests it saves are a good part of the
#: work, and far from CPython's limit on nesting.
SPECIALIZED_BODY_LINES = 60
SPECIALIZED_INDENT = 30
#: A function whose body is more Python lines than this gets a wrapper as
#: its single-result form: the copy would double what CPython compiles for
#: it, where its calls are a small part of its work.
SINGLE_FORM_LINES = 300
#: Single-result forms of a chunk's functions take at most this many
#: characters of Python per character of its source, in all: whatever the
#: code, they add a bounded share to what a chunk compiles to.  A function
#: past the allowance gets a small wrapper as its single-result form.
SINGLE_FORM_CHARS_PER_SOURCE_CHAR = 40

#: ``type(lN) is int`` outside the string literals of a generated line
#: (``repr`` of a str: single or double quotes, no triple quotes).
_LITERAL_OR_INT_TEST = re.compile(r"""('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|type\((l\d+)\) is int""")
#: ``lN >= <integer>`` outside the string literals of a generated line.
_LITERAL_OR_LOWER_TEST = re.compile(r"""('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|\b(l\d+) >= (-?\d+)\b""")


def early_return_bound(body: ast.Block):
    """``if n < K then return ... end`` as a body's first statement, ``n`` a
    parameter: ``(the statement, n's binding, the least n is after it)``,
    or None.  (For integers: ``n <= K`` gives K + 1, ``K > n`` gives K.)"""
    stats = body.body
    if len(stats) < 2 or type(stats[0]) is not ast.If:
        return None
    guard = stats[0]
    if guard.orelse is not None or len(guard.tests) != 1:
        return None
    cond, block = guard.tests[0]
    if len(block.body) != 1 or type(block.body[0]) is not ast.Return:
        return None
    if type(cond) is not ast.BinOp or cond.op not in ("<", "<=", ">", ">="):
        return None
    name, limit, op = cond.left, cond.right, cond.op
    if op in (">", ">="):
        name, limit, op = limit, name, "<" if op == ">" else "<="
    if type(name) is not ast.Name or not is_int_literal(limit):
        return None
    return guard, name.binding, limit.value if op == "<" else limit.value + 1


class Proto:
    """A compiled Lua function prototype."""

    __slots__ = ("name", "line", "factory", "has_tail_calls", "lazy_prologue", "instantiate",
                 "last_line", "upvalue_names", "text", "is_method", "locvars",
                 "gen_factory", "chunk", "calls_itself", "typed_locals", "single_typed_locals",
                 "gen_locvars", "source_upvalue_names")

    @classmethod
    def of(cls, node: ast.Function) -> Proto:
        """The prototype of ``node``, before its code is generated."""
        return cls(node.name, node.line, node.end_line,
                   node.scope.upvalue_names if node.scope is not None else (), node.text, node.is_method)

    def __init__(self, name: str, line: int, last_line: int = 0, upvalue_names=(),
                 text=None, is_method: bool = False):
        self.name = name
        self.line = line
        #: What ``debug`` reports: the line of the closing ``end`` and the
        #: upvalues' Lua names, numbered as lua5.4 numbers them.
        self.last_line = last_line
        self.upvalue_names = tuple(upvalue_names)
        #: The names a stripped chunk's upvalues had (``luapy.binchunk``).
        self.source_upvalue_names: tuple | None = None
        #: What ``string.dump`` saves (``luapy.binchunk``): the function's
        #: ``ast.SourceText``, and whether ``self`` was added to its parameters.
        self.text = text
        self.is_method = is_method
        #: Its locals, like lua5.4's ``locvars``: ``(name, where, start,
        #: end)`` in declaration order, active on the Python lines
        #: ``start <= line < end`` of the generated module.  ``where`` is the
        #: Python local holding the value (``c<slot>`` a cell), or a
        #: generic ``for``'s ``(state cell, index)``, or None (not kept).
        self.locvars: tuple = ()
        self.factory = None
        self.has_tail_calls = False
        #: Its plain form calls itself directly, checking a cell ``__me``
        #: that instantiating it sets to the new closure (``self_call``).
        self.calls_itself = False
        #: The Python locals its code relies on the type of, and that type's
        #: Lua name: ``debug.setlocal`` may not break it (``check_typed_local``).
        self.typed_locals: dict = {}
        #: ...and those its single-result form's integer copy relies on.
        self.single_typed_locals: dict = {}
        #: Its body runs call-free statements before charging its call, so
        #: a metamethod call charges it up front (``ops.call_metamethod``).
        self.lazy_prologue = False
        self.instantiate = None
        #: The factory of its generator form, compiled the first time one of
        #: its chunk's functions runs inside a coroutine...
        self.gen_factory = None
        #: ``locvars`` of its generator form, whose Python lines are its own.
        self.gen_locvars: tuple = ()
        #: ...from this (``luapy.compile.generator.ChunkSource``).
        self.chunk = None


class FunctionCompiler(StatementCompiler, ExpressionCompiler, CallCompiler):
    """Compiles one ``ast.Function`` into the source of its factory."""

    #: Whether a function's calls of itself may skip the call protocol
    #: (``CallCompiler.calls_itself``); the generator form's may not.
    DIRECT_SELF_CALLS = True

    def __init__(self, chunk: ChunkCompiler, node: ast.Function, index: int | None = None,
                 proto: Proto | None = None):
        """``index``: the prototype's number when the chunk numbered it
        before (``ChunkCompiler.nested_function``), else the next one;
        ``proto``: the ``Proto`` to fill in, else a new one."""
        self.chunk = chunk
        self.node = node
        self.scope = node.scope
        self.out: list[tuple[int, str, int]] = []
        self.indent = 0
        self.line = node.line
        self.temps = 0
        self.contexts: list[LoopContext] = []
        self.inline_depth = 0
        #: How many ``try`` statements that close ``<close>`` variables are
        #: open here (each is two of CPython's nested blocks).
        self.open_closes = 0
        #: How many scopes have a ``<close>`` variable in scope here (so a
        #: ``return f()`` is no tail call); a label block's ``try`` is open
        #: before its first variable is declared.
        self.live_closes = 0
        self.proto = Proto.of(node) if proto is None else proto
        #: Slots of numeric-for variables that can only ever hold integers,
        #: those of them that are always ``>= 1``, and locals only ever set
        #: by a table constructor: their inline fast paths skip type tests.
        self.known_int: set[int] = set()
        self.known_positive: set[int] = set()
        self.known_table: set[int] = set()
        #: ``id``s of the locals assigned after their declaration (computed
        #: when first needed).
        self.reassigned: set[int] | None = None
        #: The local a ``local function`` statement declares this function
        #: as (set by ``closure``), and whether it may return a tail call.
        self.self_binding: LocalVar | None = None
        self.may_tail_call: bool | None = None
        #: Loops nested too deep for CPython, compiled as functions of their
        #: own (``StatementCompiler.hoist``): ``(name, lines)`` each, and
        #: where in ``out`` their definitions go.
        self.hoisted: list[tuple[str, list]] = []
        self.hoist_at = 0
        if index is None:
            index = chunk.number(node, self.proto)
        self.index = index
        if index == 0:
            chunk.single_form_allowance = node.size * SINGLE_FORM_CHARS_PER_SOURCE_CHAR
        self.st = chunk.st
        self.budget = chunk.budget
        #: Helper calls instead of inline fast paths (``COMPACT_FUNCTION_SIZE``).
        self.compact = node.scope is not None and node.scope.own_size > COMPACT_FUNCTION_SIZE
        #: How many of its locals are active where compilation is.
        self.nactive = 0
        #: Whether a self call wants only its first value (``__s<index>``,
        #: ``single_result_form``), and the single-result text of each
        #: ``return`` statement's text.
        self.single_result_calls = False
        self.single_returns: dict[str, str] = {"return ()": "return None",
                                               "return va": "return (va[0] if va else None)"}
        #: Call expressions not emitted yet, with how their call site names
        #: the callee: ``(text, (name, is_method))`` (see ``call_site``).
        self.pending_calls: list[tuple[str, tuple[str, bool]]] = []

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

    def emit_return(self, results: str, first: str | None) -> None:
        """``return results``; in the single-result form ``return first``
        (the first of ``results`` when ``first`` is None)."""
        text = f"return {results}"
        self.single_returns[text] = (f"return {first}" if first is not None
                                     else f"return (_v[0] if (_v := {results}) else None)")
        self.emit(text)

    def open_locals(self, names) -> None:
        """From here on, locals ``(name, where)`` are active: a marker in the
        output that emits no code (``ChunkCompiler.add_function`` turns the
        markers into ``Proto.locvars``)."""
        self.out.append((self.indent, None, self.line, tuple(names)))
        self.nactive += len(names)

    def close_locals(self, nactive: int) -> None:
        """From here on, only the first ``nactive`` active locals remain."""
        if self.nactive > nactive:
            self.out.append((self.indent, None, self.line, nactive))
            self.nactive = nactive

    def temp(self, kind: str = "t") -> str:
        """A fresh temporary.  Kind ``t`` is an operand, ``r`` a tuple of
        call results, read at once by the call it is spread into (so
        ``collectgarbage`` may clear it: ``luapy.runtime.collector``)."""
        self.temps += 1
        return f"_{kind}{self.temps}"

    def materialize(self, expression: str, line: int | None = None, kind: str = "t") -> str:
        if SIMPLE.match(expression):
            return expression
        name = self.temp(kind)
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
        # The frame's bookkeeping is quiet: errors in it name the function's
        # line, a line hook sees the body's first statement first.
        self.line = QuietLine(node.line)
        counting = self.st.options.count_steps
        lead = call_free_lead(node.body) if counting else 0
        self.proto.lazy_prologue = lead > 0
        if counting:
            self.emit("nonlocal _depth, _steps")
        self.hoist_at = len(self.out)
        self.early_return = early_return_bound(node.body)
        self.begin_frame()
        for var in scope.params:
            if var.captured:
                self.emit(f"c{var.slot} = [l{var.slot}]")
        self.open_locals(local_names(scope.params))
        if counting and not lead:
            self.prologue(overflow_level=1)
        self.emit("try:")
        self.indent += 1
        if lead:
            self.lazy_body(node.body, lead)
        else:
            self.function_body(node.body)
        self.indent -= 1
        handlers = QuietLine(node.end_line)
        self.emit("except LuaException as _e:", handlers)
        self.emit(f"    FIXERR(_e, {trace_name!r})", handlers)
        self.emit("    raise", handlers)
        self.emit("except RecursionError:", handlers)
        self.emit("    raise LuaError('stack overflow') from None", handlers)
        if counting and not lead:
            self.unlined(self.epilogue)
        if self.hoisted:
            self.out[self.hoist_at:self.hoist_at] = self.hoisted_definitions()
        if self.proto.calls_itself:
            header.insert(-1, (1, "__me = None", node.line))
        self.proto.typed_locals = {**{f"l{slot}": "integer" for slot in self.known_int},
                                   **{f"l{slot}": "table" for slot in self.known_table}}
        if self.single_result_calls:
            self.out += self.single_result_form(header[-1][1])
        self.indent = 1
        self.emit(f"return __f{self.index}", node.end_line)
        self.proto.locvars = self.chunk.add_function(header + self.out)
        originals = getattr(self.chunk, "originals", None)
        if originals is not None:   # a generator form: the plain form's Proto is the one found
            originals[self.index].gen_locvars = self.proto.locvars
        return self.proto

    def unlined(self, compile_part) -> None:
        """Run ``compile_part`` with what it emits quiet (bookkeeping a line
        hook must not see, on the lines its errors name)."""
        start = len(self.out)
        compile_part()
        self.out[start:] = [(entry[0], entry[1], QuietLine(entry[2]), *entry[3:])
                            for entry in self.out[start:]]

    def return_line(self) -> int:
        """The line of the function's implicit return: its ``end``, or the
        main chunk's last token."""
        if self.node.name == "main chunk":
            return last_token_line(self.node)
        return self.node.end_line

    def single_result_form(self, definition: str) -> list:
        """The function a second time, as ``__s<index>``, returning its first
        value itself instead of a tuple of values: what its own calls that
        want one value call (``templates.self_call_first_value``), so a
        recursive ``fib(n - 1) + fib(n - 2)`` builds no tuples.

        It is the same body, line for line, with each ``return`` swapped
        for its single-result text (``emit_return``), so positions, locals
        and hooks read the same in both.  A body with loops hoisted into
        functions of their own, or past the chunk's allowance, gets a
        wrapper instead, named so that no one takes it for a Lua level.
        """
        line = self.node.line
        name = f"__s{self.index}"
        single_returns = self.single_returns
        body = []
        for entry in self.out:
            text = entry[1]
            if text is not None and text in single_returns:
                entry = (entry[0], single_returns[text], *entry[2:])
            body.append(entry)
        size = sum(len(entry[1]) + entry[0] + 1 for entry in body if entry[1] is not None)  # indented
        if self.hoisted or len(body) > SINGLE_FORM_LINES or size > self.chunk.single_form_allowance:
            wrapper = f"__w{self.index}"
            return [(1, f"def {wrapper}(*args):", line),
                    (2, f"return (_v[0] if (_v := __f{self.index}(*args)) else None)", line),
                    (1, f"{name} = {wrapper}", line)]
        if self.scope.is_vararg:
            definition = definition.replace(f"def __f{self.index}(", f"def {name}(", 1)
        else:
            # Exact parameters, no ``*_``: CPython's fastest call path
            # (``CALL_PY_EXACT_ARGS``) skips functions taking ``*args``, and
            # every call of this form passes them all (``single_form_arguments``).
            definition = f"def {name}({', '.join(f'l{var.slot}' for var in self.scope.params)}):"
        form = [(1, None, line, 0),  # the first form's locals end where this one starts
                (1, definition, line)]
        guard_end = self.bound_guard_end
        if body and (body[0][1] or "").startswith("nonlocal "):
            form.append(body.pop(0))
            guard_end = guard_end and guard_end - 1
        integers = self.integer_parameters(body, size)
        if integers:
            bounded, bound = self.lower_bound(integers)
            if bounded:
                # ``debug.setlocal`` may then write only integers >= bound.
                self.proto.single_typed_locals[bounded] = bound
            form.append((2, f"if {' and '.join(f'type({p}) is int' for p in integers)}:", QuietLine(line)))
            for number, (indent, text, *rest) in enumerate(body):
                if text is not None and "type(l" in text:
                    text = _LITERAL_OR_INT_TEST.sub(
                        lambda m: m.group(1) or ("True" if m.group(2) in integers else m.group(0)), text)
                if bounded and number >= guard_end and text is not None and f"{bounded} >= " in text:
                    # Past ``if n < K then return end``, ``n >= c`` for c <= K:
                    # the underflow tests of ``n - 1``, ``n - 2``.
                    text = _LITERAL_OR_LOWER_TEST.sub(
                        lambda m: m.group(1) or ("True" if m.group(2) == bounded and int(m.group(3)) <= bound
                                                 else m.group(0)), text)
                form.append((indent + 1, text, *rest))
            form.append((2, None, line, 0))
            size *= 2
        form += body
        self.chunk.single_form_allowance -= size
        if self.budget is not None:  # charged as the first form's lines were
            self.budget.emitted(size)
        return form

    def integer_parameters(self, body: list, size: int) -> list[str]:
        """The parameters the single-result form is worth compiling a second
        time for, as integers: a small body that tests them for ``int``
        (``n < 2``, ``n - 1``) and never assigns them.  Called with integers
        (as ``fib`` always is), it runs the copy where those tests are
        ``True``, which CPython folds away; with anything else, the plain one.

        ``debug.setlocal`` may then write only integers to them in this form
        (``Proto.single_typed_locals``)."""
        if (len(body) > SPECIALIZED_BODY_LINES or 2 * size > self.chunk.single_form_allowance
                or max(entry[0] for entry in body) > SPECIALIZED_INDENT):
            return []
        tested = {m.group(2) for entry in body if entry[1] is not None
                  for m in _LITERAL_OR_INT_TEST.finditer(entry[1]) if m.group(2)}
        names = [f"l{var.slot}" for var in self.scope.params
                 if not var.captured and not self.is_reassigned(var) and f"l{var.slot}" in tested]
        self.proto.single_typed_locals = dict.fromkeys(names, "integer")
        return names

    def lower_bound(self, integers: list[str]) -> tuple[str | None, int]:
        """An integer parameter the body's first statement returns early for
        below a literal (``if n < 2 then return n end``, ``early_return``),
        and the least it can be after it: ``(None, 0)`` if none."""
        if self.early_return is None or self.bound_guard_end is None:
            return None, 0
        _, var, bound = self.early_return
        name = f"l{var.slot}"
        return (name, bound) if name in integers else (None, 0)

    def begin_frame(self) -> None:
        """The first statement of the body (a hook for other back ends)."""

    def body_or_pass(self, compile_body) -> None:
        """Run ``compile_body``; a Python suite can't be empty, so emit
        ``pass`` if it emitted nothing."""
        start = len(self.out)
        compile_body()
        if all(entry[1] is None for entry in self.out[start:]):  # nothing or markers
            self.emit("pass")

    def indented(self, compile_body) -> None:
        """``body_or_pass`` one level deeper."""
        self.indent += 1
        self.body_or_pass(compile_body)
        self.indent -= 1

    def function_body(self, body: ast.Block) -> None:
        self.body_or_pass(lambda: self.block(body))
        self.emit("return ()", self.return_line())

    def lazy_body(self, body: ast.Block, lead: int) -> None:
        """The call-free lead, then the prologue and the rest ("Accounting")."""
        stats = body.body
        self.statements(stats[:lead])
        if lead == len(stats):
            self.emit("return ()", self.return_line())
            return
        # Inside this frame's handler, so an overflow names the caller's
        # line (level 2), as it does from the entry.
        self.unlined(lambda: self.prologue(overflow_level=2))
        self.emit("try:", QuietLine(self.line))
        self.indent += 1
        rest = ast.Block(stats[lead:], stats[lead].line, body.end_line)
        rest.scope = body.scope
        self.function_body(rest)
        self.indent -= 1
        self.unlined(self.epilogue)
