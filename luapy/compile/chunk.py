"""The generated module of one chunk, and the closures made from it."""

from __future__ import annotations

import types
import warnings

from .. import ast
from ..errors import LuaSyntaxError
from ..runtime.helpers import TableTemplate, TailCall, error_fixer, runtime_namespace, tail_runner
from ..runtime.stack import ensure_compile_headroom
from ..runtime.values import Function
from .function import FunctionCompiler, Proto

#: One space: deep Lua nesting must not multiply the size of the source.
INDENT = " "
#: Numeric for loops nested deeper than this charge per iteration instead
#: of per chunk (a chunked loop is two Python loops; CPython caps nesting).
MAX_CHUNKED_NESTING = 6
#: A constructor of constants with more fields than this (or any nested
#: one) becomes a ``TableTemplate`` in the namespace instead of source.
MIN_TEMPLATE_FIELDS = 8
_UNKNOWN = object()
#: The lines of ``module_source`` before the first function's.
HEADER = ["def __chunk():", INDENT + "_depth = _steps = 0"]
HEADER_LINES = len(HEADER)
#: What making a closure charges to the memory budget: a Python function,
#: its Function wrapper, and a cell per upvalue.
CLOSURE_COST = 400
UPVALUE_COST = 64
#: A nested function's factory is compiled by CPython when its first
#: closure is made, not with the chunk (``LazyFactories``), unless CPython
#: could refuse it: then it is compiled with the chunk, so that the refusal
#: is the chunk's syntax error, as it always was.  CPython refuses 20
#: nested blocks (each block of generated code is an indented suite, and
#: the handlers that count twice hold no blocks: a factory indented at most
#: this deep has at most 13 inside its function), 100 indentation
#: levels, 200 nested brackets (a line with fewer openers has fewer) and
#: expressions deep enough to exhaust its parser (a line this short can't
#: hold one); its recursion is given headroom where it compiles.
LAZY_MAX_INDENT = 16
LAZY_MAX_LINE = 2000
LAZY_MAX_OPENERS = 100
#: A line shorter than this can't hold ``LAZY_MAX_OPENERS`` (not counted).
_SHORT_LINE = LAZY_MAX_OPENERS


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
        #: What a loop being compiled is counted as when deciding to hoist
        #: the next one (``StatementCompiler.too_deep_for_a_loop``): two
        #: Python blocks (a chunked for's two loops, or a loop and the
        #: ``try`` of its jumps); three, at worst, on the retry.
        self.loop_blocks = 2
        self.constants: dict[str, object] = {}
        #: Characters of Python the single-result forms of the chunk's
        #: functions may still take (``FunctionCompiler.single_result_form``),
        #: set from the chunk's size as its main function starts.
        self.single_form_allowance = 0
        self.protos: list[Proto] = []
        self.label_ids: dict[int, int] = {}
        #: Loops numbered so far: a ``break`` that leaves by exception
        #: names its loop by number.
        self.loops = 0
        #: Table constructor id -> its ``TableTemplate`` or None.
        self.templates: dict[int, TableTemplate | None] = {}
        #: Prototype index -> ``(first, end, eager)``: its factory's lines
        #: in ``source``, and whether it must compile with the chunk
        #: (``LAZY_MAX_INDENT``).
        self.spans: dict[int, tuple[int, int, bool]] = {}

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
        if self.budget is not None:
            self.budget.nodes(len(node.fields))
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

    def add_function(self, lines: list[tuple]) -> tuple:
        """Append a function's ``(indent, text, lua_line[, call sites])``,
        starting with its factory's ``def __proto_<index>(__up):``;
        returns its ``Proto.locvars``, from the entries whose text is None
        (``FunctionCompiler.open_locals`` and ``close_locals``)."""
        locvars: list[list] = []
        active: list[int] = []
        source = self.source
        add_line = source.append
        add_lua_line = self.lines.append
        call_sites = self.call_sites
        first = len(source)
        deepest = 0
        eager = False
        for entry in lines:
            text = entry[1]
            if text is None:
                here = len(source) + HEADER_LINES + 1  # the next line's number
                marker = entry[3]
                if type(marker) is int:
                    while len(active) > marker:
                        locvars[active.pop()][3] = here
                else:
                    for name, where in marker:
                        active.append(len(locvars))
                        locvars.append([name, where, here, None])
                continue
            indent = entry[0] + 1     # one level deeper: every factory is nested in ``__chunk``
            if indent > deepest:
                deepest = indent
            if len(text) >= _SHORT_LINE and not eager:
                eager = len(text) > LAZY_MAX_LINE or (
                    text.count("(") + text.count("[") + text.count("{") >= LAZY_MAX_OPENERS)
            add_line(INDENT * indent + text)
            add_lua_line(entry[2])
            if len(entry) > 3:
                call_sites[len(self.lines) - 1] = entry[3]
        end = len(source) + HEADER_LINES + 1
        for index in active:
            locvars[index][3] = end
        head = source[first]
        index = int(head[len(INDENT + "def __proto_"):head.index("(")])
        self.spans[index] = (first, len(source), eager or deepest > LAZY_MAX_INDENT)
        return tuple(tuple(var) for var in locvars)

    def module_source(self) -> str:
        """The generated module: the factories nested in ``__chunk``.

        ``__chunk`` only exists to declare ``_depth`` and ``_steps``, the
        variables every function shares through ``nonlocal``; its factories
        are later rebuilt around the runtime's own cells (``_bind_cells``).
        """
        return "\n".join(HEADER + self.source) + "\n"

    #: What compiles each function: the plain form here, the generator form
    #: in ``luapy.compile.generator``.
    FUNCTION_COMPILER = FunctionCompiler

    def namespace(self) -> dict:
        """The globals of the generated module, runtime helpers first."""
        return runtime_namespace(self.st)

    def build(self, chunk: ast.Chunk) -> tuple[dict, dict]:
        """Compile every function of ``chunk``: their factories by name,
        and the namespace they run in."""
        namespace = self.generate(chunk)
        text = self.module_source()
        if self.budget is not None:
            # CPython's compile below can't be interrupted: what it will
            # cost is charged, and must fit the time left, before it starts.
            self.budget.before_compile(len(text))
        code = compile_generated(text, self.chunkname, namespace["LINES"])
        exec(code, namespace)
        return _bind_cells(namespace["__chunk"], namespace, self.st), namespace

    def generate(self, chunk: ast.Chunk) -> dict:
        """Generate the source of every function of ``chunk``; returns the
        namespace its factories will run in."""
        self.FUNCTION_COMPILER(self, chunk.func).compile()
        namespace = self.namespace()
        namespace.update(self.constants)
        lines = [0] * HEADER_LINES + self.lines  # the header lines of module_source
        namespace["LINES"] = lines
        namespace["CHUNKNAME"] = self.chunkname
        namespace["CALL_SITES"] = {number + HEADER_LINES: sites
                                   for number, sites in self.call_sites.items()}
        namespace["FIXERR"] = error_fixer(self.st)
        return namespace

    def compile(self, chunk: ast.Chunk, env, reread=None) -> Function:
        """The main function's closure.  The main function, and every
        function CPython might refuse (``LAZY_MAX_INDENT``), compile now;
        the others when their first closure is made (``LazyFactories``)."""
        namespace = self.generate(chunk)
        factories = LazyFactories(self.st, self.chunkname, namespace, self.source, self.spans)
        source = ChunkSource(self.st, chunk, reread, self.chunked_nesting, self.protos, factories)
        now = {index: factories.text(index)
               for index, (_, _, eager) in self.spans.items() if eager or index == 0}
        if self.budget is not None:
            # CPython's compile can't be interrupted: what it will cost is
            # charged, and must fit the time left, before it starts.
            self.budget.before_compile(sum(map(len, now.values())))
        for index, proto in enumerate(self.protos):
            proto.chunk = source
            proto.instantiate = factories.instantiator(index, proto)
            namespace[f"P{index}"] = proto.instantiate
        for index, text in now.items():
            factories.compile(index, self.protos[index], text)
        return self.protos[0].instantiate(([env],))


def compile_generated(text: str, chunkname: str, lines, shift: int = 0):
    """CPython's compile of generated ``text``, whose line ``n`` is line
    ``n + shift`` of the chunk's module (``lines`` maps those to Lua
    lines); what CPython refuses is the chunk's syntax error."""
    try:
        with warnings.catch_warnings():
            # Templates may compare literals with ``is``; harmless.
            warnings.simplefilter("ignore")
            return compile(text, f"<lua {chunkname}>", "exec")
    except (SyntaxError, RecursionError, MemoryError) as problem:
        # CPython's own limits (e.g. 20 nested loops) can refuse code
        # that Lua accepts; report it as a Lua compile error.
        python_line = getattr(problem, "lineno", None) or 0
        if python_line:
            python_line += shift
        lua_line = lines[python_line] if 0 < python_line < len(lines) else 1
        raise LuaSyntaxError(f"{chunkname}:{lua_line}: chunk too complex to compile "
                             f"({type(problem).__name__}: {getattr(problem, 'msg', problem)})") from None


class LazyFactories:
    """The factories of one chunk's functions, each compiled by CPython the
    first time a closure of it is made.

    A module whose functions are mostly never called then costs little more
    to load than its parse and code generation.  The source of each factory
    not compiled yet is kept (as the generated module's lines); compiling it
    alone gives the same code as compiling the module: it is compiled inside
    the same ``__chunk`` header, and its line numbers are moved to its lines
    in the module, which the line maps, local variable ranges and call sites
    of the chunk count in.  A deferred compile runs inside whatever Lua call
    makes the closure: it gets stack headroom, and like a load, must fit
    that call's time budget before it starts (``State.reserve_time``).
    """

    __slots__ = ("st", "chunkname", "namespace", "source", "spans")

    def __init__(self, st, chunkname: str, namespace: dict, source: list[str], spans: dict):
        self.st = st
        self.chunkname = chunkname
        self.namespace = namespace
        #: The generated module's lines, while some factory is not compiled.
        self.source = source
        self.spans = dict(spans)

    def text(self, index: int) -> str:
        """The factory of prototype ``index`` as a module of its own."""
        first, end, _ = self.spans[index]
        return "\n".join(HEADER + self.source[first:end]) + "\n"

    def instantiator(self, index: int, proto: Proto):
        """``proto.instantiate`` until the factory is compiled: compile it,
        then make the closure as ever after (``_instantiator``)."""
        def instantiate_first(upvals) -> Function:
            if proto.factory is None:
                from ..load import LoadBudget
                text = self.text(index)
                ensure_compile_headroom()   # CPython's compiler recurses
                self.st.reserve_time(len(text) * LoadBudget.COMPILE_SECONDS_PER_CHAR)
                self.compile(index, proto, text)
            return proto.instantiate(upvals)
        return instantiate_first

    def compile(self, index: int, proto: Proto, text: str | None = None) -> None:
        """Compile the factory of prototype ``index`` (whose ``text`` may be
        at hand), which becomes ``proto.factory``, and its closures' maker
        ``proto.instantiate``."""
        first = self.spans[index][0]
        if text is None:
            text = self.text(index)
        # (What fails here fails again at the next closure, as it would have
        # failed the load.)
        code = compile_generated(text, self.chunkname, self.namespace["LINES"], first)
        del self.spans[index]
        if not self.spans:
            self.source = None      # every factory is compiled
        chunk_code = next(const for const in code.co_consts if type(const) is types.CodeType)
        factory_code = next(const for const in chunk_code.co_consts
                            if type(const) is types.CodeType and const.co_name.startswith("__proto_"))
        if first:
            factory_code = _moved(factory_code, first)
        proto.factory = _bound_factory(factory_code, self.namespace, self.st)
        proto.instantiate = _instantiator(self.st, proto)
        self.namespace[f"P{index}"] = proto.instantiate


def _moved(code: types.CodeType, lines: int) -> types.CodeType:
    """``code`` and the code nested in it, ``lines`` lines further down."""
    consts = tuple(_moved(const, lines) if type(const) is types.CodeType else const
                   for const in code.co_consts)
    return code.replace(co_firstlineno=code.co_firstlineno + lines, co_consts=consts)


class ChunkSource:
    """What compiling a chunk's generator form takes, kept from its first
    compile: how to get its resolved tree again, and the prototypes its
    closures are made of.

    Most chunks never run inside a coroutine; those that do are compiled a
    second time, once, the first time one of their functions is called
    there (``luapy.compile.generator``).  The tree is read again from the
    source then (``reread``) rather than kept: a tree takes many times the
    memory of its text.
    """

    __slots__ = ("st", "tree", "reread", "chunked_nesting", "protos", "factories")

    def __init__(self, st, tree: ast.Chunk, reread, chunked_nesting: int, protos: list,
                 factories: LazyFactories | None = None):
        self.st = st
        #: The plain form's factories, compiled as closures need them.
        self.factories = factories
        #: The tree itself, when there is no ``reread``.
        self.tree = tree if reread is None else None
        self.reread = reread
        self.chunked_nesting = chunked_nesting
        self.protos = protos

    def compile_every_function(self) -> None:
        """Compile now what closures would compile as they are first made
        (for measuring the whole cost of a chunk)."""
        for index, proto in enumerate(self.protos):
            if proto.factory is None:
                self.factories.compile(index, proto)

    def compile_generators(self) -> None:
        """Give every prototype of the chunk its ``gen_factory``."""
        from .generator import compile_generator_forms
        ensure_compile_headroom()   # parsing and compiling recurse
        tree = self.tree if self.reread is None else self.reread()
        compile_generator_forms(self, tree)
        self.tree = self.reread = None    # no longer needed


def _bind_cells(chunk_function, namespace: dict, st) -> dict:
    """Build each factory of a compiled module (``_bound_factory``)."""
    return {const.co_name: _bound_factory(const, namespace, st)
            for const in chunk_function.__code__.co_consts
            if isinstance(const, types.CodeType) and const.co_name.startswith("__proto_")}


def _bound_factory(code: types.CodeType, namespace: dict, st):
    """A factory built with the runtime's depth and step cells.

    ``types.FunctionType`` accepts an explicit closure: the factories of
    every chunk a runtime loads then share the same two cells, so Lua calls
    and loops update them as cheap ``nonlocal`` variables.
    """
    cells = {"_depth": st.depth_cell, "_steps": st.steps_cell}
    closure = tuple(cells[name] for name in code.co_freevars) or None
    return types.FunctionType(code, namespace, code.co_name, None, closure)


def _instantiator(st, proto: Proto):
    """The function generated code calls to make a closure of ``proto``.

    A closure is charged to the memory budget (``CLOSURE_COST`` plus
    ``UPVALUE_COST`` per upvalue) like any other allocation, so a loop
    that keeps making closures runs out of memory, not of the host's.
    """
    factory = proto.factory
    name = proto.name or "?"
    if not proto.has_tail_calls:
        me = None     # where its ``__me`` cell is (``templates.self_call``), once known

        def instantiate(upvals) -> Function:
            nonlocal me
            left = st.memory_left = st.memory_left - CLOSURE_COST - UPVALUE_COST * len(upvals)
            if left < 0:
                st.charge_memory(0)
            raw = factory(upvals)
            function = Function(raw, name, proto, upvals, raw)
            if proto.calls_itself:
                if me is None:
                    me = raw.__code__.co_freevars.index("__me")
                raw.__closure__[me].cell_contents = function
            return function
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


def compile_chunk(st, chunk: ast.Chunk, env, budget=None, reread=None) -> Function:
    """Compile a resolved chunk into a Function whose ``_ENV`` is ``env``,
    charging the work to ``budget`` if given (``luapy.load.LoadBudget``).
    ``reread()``, if given, gives the resolved tree again (for the
    generator form, ``ChunkSource``); else the tree is kept."""
    try:
        return ChunkCompiler(st, chunk.chunkname, budget).compile(chunk, env, reread)
    except LuaSyntaxError:
        # Too nested for CPython?  One Python loop per numeric for, and
        # loops hoisted as if each had a ``try`` too (slower, still exact).
        retry = ChunkCompiler(st, chunk.chunkname, budget)
        retry.chunked_nesting = 0
        retry.loop_blocks = 3
        return retry.compile(chunk, env, reread)


def generated_source(st, chunk: ast.Chunk) -> str:
    """The Python source a chunk compiles to, for reading and for tests of
    the compiler (it is not run: ``compile_chunk`` builds the real one)."""
    compiler = ChunkCompiler(st, chunk.chunkname)
    FunctionCompiler(compiler, chunk.func).compile()
    return compiler.module_source()
