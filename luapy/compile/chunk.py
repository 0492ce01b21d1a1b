"""The generated module of one chunk, and the closures made from it."""

from __future__ import annotations

import threading
import types
import warnings

from .. import ast
from ..errors import LuaSyntaxError
from ..runtime.helpers import TableTemplate, TailCall, error_fixer, runtime_namespace, tail_runner
from ..runtime.stack import ensure_compile_headroom
from ..runtime.values import Function
from .analysis import deferrable
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
        #: Python line number of the module -> Lua line (its ``LINES``).
        self.lines: list[int] = [0] * (HEADER_LINES + 1)
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
        self.constants_made = 0
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
        #: Whether a nested function's Python may be generated when its
        #: first closure is made (``nested_function``): not for the
        #: generator form, nor for reading (``generated_source``).
        self.defers = True
        #: The functions numbered but not generated yet: index ->
        #: ``(node, the local a local function statement declares it as)``.
        self.lazy: dict[int, tuple] = {}
        #: Where each function's text starts in the source -> its index:
        #: the same in both forms, and in a tree read again.
        self.indices: dict[int, int] = {}
        #: ``deferrable``'s answers, by where a function's text starts.
        self.deferrable: dict[int, bool] = {}
        #: Set once the chunk is loaded: what to do with a prototype
        #: numbered later (``LazyFactories.adopt``).
        self.adopt = None

    def constant(self, value) -> str:
        name = f"K{self.constants_made}"
        self.constants_made += 1
        self.constants[name] = value
        return name

    def number(self, node: ast.Function, proto: Proto) -> int:
        """Give ``node``, whose prototype is ``proto``, the next index."""
        index = len(self.protos)
        self.protos.append(proto)
        self.indices[node.text.start] = index
        if self.adopt is not None:
            self.adopt(index, proto)
        return index

    def defer(self, node: ast.Function, declared_as) -> int:
        """Number ``node`` and keep it to generate later: its subtree alone
        (the resolver's link to the enclosing function's scope, which the
        compiler never follows, would keep the whole tree)."""
        if node.scope is not None:
            node.scope.parent = None
        index = self.number(node, Proto.of(node))
        self.lazy[index] = (node, declared_as)
        return index

    def nested_function(self, compiler: type, node: ast.Function, declared_as) -> int:
        """The index of ``node``, a function nested in one being generated
        by a ``compiler`` (the class), generating its Python now unless it
        is ``deferrable``: then that waits for its first closure
        (``LazyFactories.generate``).  ``declared_as``: the local a ``local
        function`` statement declares it as."""
        index = self.indices.get(node.text.start)
        if index is not None:
            return index        # numbered by an earlier attempt, or by the other form
        if self.defers and deferrable(node, self.deferrable):
            return self.defer(node, declared_as)
        inner = compiler(self, node)
        inner.self_binding = declared_as
        inner.compile()
        return inner.index

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
        (``FunctionCompiler.open_locals`` and ``close_locals``).  A function
        generated after the load that another generation of it (re-entered
        from a finalizer) already added is not added again: None."""
        head = lines[0][1]
        index = int(head[len("def __proto_"):head.index("(")])
        if self.adopt is not None and self.lazy.pop(index, None) is None:
            return None
        # A stripped chunk (``luapy.binchunk``) has no Lua lines, even later.
        stripped = self.lines[-1] < 0
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
            add_lua_line(-1 if stripped else entry[2])
            if len(entry) > 3:
                call_sites[len(self.lines) - 1] = entry[3]
        end = len(source) + HEADER_LINES + 1
        for position in active:
            locvars[position][3] = end
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
        self.constants.clear()     # later ones are added as they are made
        namespace["LINES"] = self.lines
        namespace["CHUNKNAME"] = self.chunkname
        namespace["CALL_SITES"] = self.call_sites
        namespace["FIXERR"] = error_fixer(self.st)
        return namespace

    def compile(self, chunk: ast.Chunk, env, reread=None) -> Function:
        """The main function's closure.  The main function, and every
        function CPython might refuse (``LAZY_MAX_INDENT``), compile now;
        the others when their first closure is made (``LazyFactories``),
        and the Python of those ``deferrable`` is generated only then."""
        namespace = self.generate(chunk)
        factories = LazyFactories(self, namespace)
        source = ChunkSource(self.st, chunk, reread, self.chunked_nesting, self.protos, factories)
        factories.chunk_source = source
        now = {index: factories.text(index)
               for index, (_, _, eager) in self.spans.items() if eager or index == 0}
        if self.budget is not None:
            # CPython's compile can't be interrupted: what it will cost is
            # charged, and must fit the time left, before it starts.
            self.budget.before_compile(sum(map(len, now.values())))
        factories.charged = self.budget is not None
        self.budget = None
        self.templates.clear()      # (by ``id``: the tree may go)
        self.label_ids.clear()
        for index, proto in enumerate(self.protos):
            factories.adopt(index, proto)
        self.adopt = factories.adopt
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
    first time a closure of it is made, and the Python of a ``deferrable``
    function generated only then.

    A module whose functions are mostly never called then costs little more
    to load than its parse and the code generation of its main function.
    The chunk's compiler stays, with the subtrees of the functions not
    generated yet (``ChunkCompiler.lazy``) and the source of the factories
    not compiled yet (as the generated module's lines); compiling one alone
    gives the same code as compiling the module: it is compiled inside the
    same ``__chunk`` header, and its line numbers are moved to its lines in
    the module, which the line maps, local variable ranges and call sites of
    the chunk count in.  Generating and compiling run inside whatever Lua
    call makes the closure: they get stack headroom; generating is charged
    to that call's budgets as a ``load`` is if the chunk was loaded by Lua
    (``luapy.load.LoadBudget``), and the compile must fit the call's time
    budget before it starts (``State.reserve_time``).  It all happens once,
    under the chunk's lock.
    """

    __slots__ = ("st", "compiler", "namespace", "chunk_source", "charged", "lock", "generating")

    def __init__(self, compiler: ChunkCompiler, namespace: dict):
        self.st = compiler.st
        self.compiler = compiler
        self.namespace = namespace
        self.chunk_source: ChunkSource | None = None
        #: Whether Lua loaded the chunk: its generation is charged then.
        self.charged = False
        self.lock = threading.RLock()
        #: Generations under way (one may start inside another, from a
        #: finalizer that a budget check runs).
        self.generating = 0

    def text(self, index: int) -> str:
        """The factory of prototype ``index`` as a module of its own."""
        first, end, _ = self.compiler.spans[index]
        return "\n".join(HEADER + self.compiler.source[first:end]) + "\n"

    def adopt(self, index: int, proto: Proto) -> None:
        """Make ``proto``, numbered ``index``, a prototype of the chunk."""
        proto.chunk = self.chunk_source
        proto.instantiate = self.instantiator(index, proto)
        self.namespace[f"P{index}"] = proto.instantiate
        if self.compiler.lines[-1] < 0 and self.compiler.adopt is not None:
            # Numbered after ``luapy.binchunk`` stripped the chunk.
            from ..binchunk import NO_NAME
            proto.source_upvalue_names = proto.upvalue_names
            proto.upvalue_names = (NO_NAME,) * len(proto.upvalue_names)

    def instantiator(self, index: int, proto: Proto):
        """``proto.instantiate`` until the factory is compiled: compile it,
        then make the closure as ever after (``_instantiator``)."""
        def instantiate_first(upvals) -> Function:
            if proto.factory is None:
                self.ready(index, proto)
            return proto.instantiate(upvals)
        return instantiate_first

    def ready(self, index: int, proto: Proto) -> None:
        """Generate (if it was not) and compile the factory of ``proto``."""
        from ..load import LoadBudget
        with self.lock:
            if proto.factory is not None:
                return          # another thread did
            ensure_compile_headroom()   # generating and CPython's compiler recurse
            if index in self.compiler.lazy:
                self.generate(index, proto)
                if proto.factory is not None:
                    return      # compiled by a generation re-entered from a finalizer
            text = self.text(index)
            self.st.reserve_time(len(text) * LoadBudget.COMPILE_SECONDS_PER_CHAR)
            self.compile(index, proto, text)

    def generate(self, index: int, proto: Proto) -> None:
        """Generate the Python of prototype ``index`` (its nested functions
        are numbered, not generated: ``ChunkCompiler.nested_function``)."""
        from ..load import LoadBudget
        compiler = self.compiler
        node, declared_as = compiler.lazy[index]
        budget = LoadBudget(self.st) if self.charged else None
        self.generating += 1
        compiler.budget = budget
        try:
            function = compiler.FUNCTION_COMPILER(compiler, node, index, Proto.of(node))
            function.self_binding = declared_as
            made = function.compile()
        finally:
            compiler.budget = None
            self.generating -= 1
            if not self.generating:
                compiler.templates.clear()      # (by ``id``)
                compiler.label_ids.clear()
        self.namespace.update(compiler.constants)
        compiler.constants.clear()
        if made.locvars is not None:    # (else a generation it re-entered added it)
            for name in _GENERATED:
                setattr(proto, name, getattr(made, name))
        if budget is not None:
            budget.settle()

    def compile(self, index: int, proto: Proto, text: str | None = None) -> None:
        """Compile the factory of prototype ``index`` (whose ``text`` may be
        at hand), which becomes ``proto.factory``, and its closures' maker
        ``proto.instantiate``."""
        compiler = self.compiler
        first, end, _ = compiler.spans[index]
        if text is None:
            text = self.text(index)
        # (What fails here fails again at the next closure, as it would have
        # failed the load.)
        code = compile_generated(text, compiler.chunkname, self.namespace["LINES"], first)
        del compiler.spans[index]
        compiler.source[first:end] = [""] * (end - first)   # (numbering stays)
        chunk_code = next(const for const in code.co_consts if type(const) is types.CodeType)
        factory_code = next(const for const in chunk_code.co_consts
                            if type(const) is types.CodeType and const.co_name.startswith("__proto_"))
        if first:
            factory_code = _moved(factory_code, first)
        proto.factory = _bound_factory(factory_code, self.namespace, self.st)
        proto.instantiate = _instantiator(self.st, proto)
        self.namespace[f"P{index}"] = proto.instantiate


#: What generating a function sets on its ``Proto``.
_GENERATED = ("locvars", "has_tail_calls", "calls_itself", "typed_locals", "single_typed_locals",
              "lazy_prologue")


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
        """Generate and compile now what closures would as they are first
        made (for measuring the whole cost of a chunk)."""
        index = 0
        while index < len(self.protos):     # (generating numbers more)
            proto = self.protos[index]
            if proto.factory is None:
                self.factories.ready(index, proto)
            index += 1

    def compile_generators(self) -> None:
        """Give every prototype of the chunk its ``gen_factory``."""
        from .generator import compile_generator_forms
        with self.factories.lock:
            if self.protos[0].gen_factory is not None:
                return          # another thread did
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
    compiler.defers = False
    FunctionCompiler(compiler, chunk.func).compile()
    return compiler.module_source()
