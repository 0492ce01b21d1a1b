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
#: Lines of ``module_source`` before the first function's.
HEADER_LINES = 2
#: What making a closure charges to the memory budget: a Python function,
#: its Function wrapper, and a cell per upvalue.
CLOSURE_COST = 400
UPVALUE_COST = 64


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
        #: Loops numbered so far: a ``break`` that leaves by exception
        #: names its loop by number.
        self.loops = 0
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
        """Append a function's ``(indent, text, lua_line[, call sites])``;
        returns its ``Proto.locvars``, from the entries whose text is None
        (``FunctionCompiler.open_locals`` and ``close_locals``)."""
        locvars: list[list] = []
        active: list[int] = []
        for indent, text, lua_line, *sites in lines:
            if text is None:
                here = len(self.source) + HEADER_LINES + 1  # the next line's number
                marker = sites[0]
                if type(marker) is int:
                    while len(active) > marker:
                        locvars[active.pop()][3] = here
                else:
                    for name, where in marker:
                        active.append(len(locvars))
                        locvars.append([name, where, here, None])
                continue
            # One level deeper: every factory is nested in ``__chunk``.
            self.source.append(INDENT * (indent + 1) + text)
            self.lines.append(lua_line)
            if sites:
                self.call_sites[len(self.lines) - 1] = sites[0]
        end = len(self.source) + HEADER_LINES + 1
        for index in active:
            locvars[index][3] = end
        return tuple(tuple(var) for var in locvars)

    def module_source(self) -> str:
        """The generated module: the factories nested in ``__chunk``.

        ``__chunk`` only exists to declare ``_depth`` and ``_steps``, the
        variables every function shares through ``nonlocal``; its factories
        are later rebuilt around the runtime's own cells (``_bind_cells``).
        """
        header = ["def __chunk():", INDENT + "_depth = _steps = 0"]  # HEADER_LINES
        return "\n".join(header + self.source) + "\n"

    #: What compiles each function: the plain form here, the generator form
    #: in ``luapy.compile.generator``.
    FUNCTION_COMPILER = FunctionCompiler

    def namespace(self) -> dict:
        """The globals of the generated module, runtime helpers first."""
        return runtime_namespace(self.st)

    def build(self, chunk: ast.Chunk) -> tuple[dict, dict]:
        """Compile every function of ``chunk``: their factories by name,
        and the namespace they run in."""
        self.FUNCTION_COMPILER(self, chunk.func).compile()
        namespace = self.namespace()
        namespace.update(self.constants)
        lines = [0] * HEADER_LINES + self.lines  # the header lines of module_source
        namespace["LINES"] = lines
        namespace["CHUNKNAME"] = self.chunkname
        namespace["CALL_SITES"] = {number + HEADER_LINES: sites
                                   for number, sites in self.call_sites.items()}
        namespace["FIXERR"] = error_fixer(self.st)
        text = self.module_source()
        if self.budget is not None:
            # CPython's compile below can't be interrupted: what it will
            # cost is charged, and must fit the time left, before it starts.
            self.budget.before_compile(len(text))
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
        return _bind_cells(namespace["__chunk"], namespace, self.st), namespace

    def compile(self, chunk: ast.Chunk, env, reread=None) -> Function:
        factories, namespace = self.build(chunk)
        source = ChunkSource(self.st, chunk, reread, self.chunked_nesting, self.protos)
        main = self.protos[0]
        for index, proto in enumerate(self.protos):
            proto.factory = factories[f"__proto_{index}"]
            proto.instantiate = _instantiator(self.st, proto)
            proto.chunk = source
            namespace[f"P{index}"] = proto.instantiate
        return main.instantiate(([env],))


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

    __slots__ = ("st", "tree", "reread", "chunked_nesting", "protos")

    def __init__(self, st, tree: ast.Chunk, reread, chunked_nesting: int, protos: list):
        self.st = st
        #: The tree itself, when there is no ``reread``.
        self.tree = tree if reread is None else None
        self.reread = reread
        self.chunked_nesting = chunked_nesting
        self.protos = protos

    def compile_generators(self) -> None:
        """Give every prototype of the chunk its ``gen_factory``."""
        from .generator import compile_generator_forms
        ensure_compile_headroom()   # parsing and compiling recurse
        tree = self.tree if self.reread is None else self.reread()
        compile_generator_forms(self, tree)
        self.tree = self.reread = None    # no longer needed


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
            function = Function(raw, name, proto, upvals, raw)
            if proto.calls_itself:    # its ``__me`` (``templates.self_call``)
                raw.__closure__[raw.__code__.co_freevars.index("__me")].cell_contents = function
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
        # Too nested for CPython?  One Python loop per numeric for, and the
        # chunk may fit (a few more nested loops; slower, still exact).
        retry = ChunkCompiler(st, chunk.chunkname, budget)
        retry.chunked_nesting = 0
        return retry.compile(chunk, env, reread)


def generated_source(st, chunk: ast.Chunk) -> str:
    """The Python source a chunk compiles to, for reading and for tests of
    the compiler (it is not run: ``compile_chunk`` builds the real one)."""
    compiler = ChunkCompiler(st, chunk.chunkname)
    FunctionCompiler(compiler, chunk.func).compile()
    return compiler.module_source()
