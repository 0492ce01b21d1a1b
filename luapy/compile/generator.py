"""The generator form: each Lua function as a Python generator.

Code inside a coroutine must be able to stop half-way and go on later,
with every Lua frame between ``resume`` and ``coroutine.yield`` kept.  The
generator form does that with Python's own generators: the same function,
compiled by the same back end, except that

* every call is ``yield from`` the callee's generator form
  (``templates.gen_call``), so the chain of frames is a chain of
  generators that a ``yield`` at its bottom suspends whole;
* every operator helper that may run a metamethod is its generator twin
  (``INDEX(...)`` becomes ``(yield from INDEXG(...))``, see
  ``yieldable``), and a generic ``for`` steps its iterator in generator
  form (``GENFORG``);
* a ``<close>`` variable is not closed when the generator is dropped
  unfinished (a suspended coroutine collected), as in lua5.4.

A chunk gets its generator form the first time one of its functions is
called inside a coroutine: it is compiled a second time, from its source
read again (``chunk.ChunkSource``), into a module of its own whose
closures are made by the plain form's prototypes.  Code that never runs
inside a coroutine never pays for any of it.
"""

from __future__ import annotations

import re

from .. import ast
from ..errors import LuaSyntaxError
from ..runtime.generators import generator_namespace
from . import templates
from .chunk import ChunkCompiler, ChunkSource
from .function import FunctionCompiler

#: The helpers of ``luapy.runtime.helpers`` that may call a metamethod.
_HELPERS = ("INDEX", "GLOBAL_U", "GLOBAL_L", "SETFIELD", "SETINDEX", "ARITH", "EQ", "LT", "LE", "CLOSEALL",
            "CONCAT", "NEG", "BNOT", "LEN")
#: The tokens of generated code that matter to ``yieldable``: string
#: literals (``repr`` of str: no triple quotes), parentheses, and a helper
#: call (not part of a longer name or an attribute).
_TOKENS = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[()]|(?<![\w.])(%s)\(""" % "|".join(_HELPERS))


def yieldable(text: str) -> str:
    """``text`` with each helper call ``NAME(args)`` made
    ``(yield from NAMEG(args))``."""
    if not any(name + "(" in text for name in _HELPERS):
        return text
    out = []
    parens = []
    last = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token[0] in "'\"":
            continue
        out.append(text[last:match.start()])
        last = match.end()
        if token == "(":
            parens.append(False)
            out.append("(")
        elif token == ")":
            out.append("))" if parens.pop() else ")")
        else:
            parens.append(True)
            out.append(f"(yield from {match.group(1)}G(")
    out.append(text[last:])
    return "".join(out)


class GeneratorFunctionCompiler(FunctionCompiler):
    """Compiles one Lua function into the factory of its generator form."""

    #: A frame here must be a generator to be suspended: no direct calls.
    DIRECT_SELF_CALLS = False
    CALL_TEMPLATES = {"call": templates.gen_call, "method": templates.gen_method_call,
                      "helper": templates.gen_helper_call, "tail": templates.gen_tail_call}

    def begin_frame(self) -> None:
        # Never runs; makes a function that happens to call nothing a
        # generator too.
        self.emit("if 0: yield")

    def emit(self, text: str, line: int | None = None) -> None:
        super().emit(text, line)
        entry = self.out[-1]
        rewritten = yieldable(entry[1])
        if rewritten is not entry[1]:
            self.out[-1] = (entry[0], rewritten, *entry[2:])

    def hoisted_call(self, name: str) -> str:
        return f"(yield from {name}())"

    def close_handlers(self, closing: str) -> None:
        self.emit("except LuaError as _ce:")
        self.emit("    _cerr = _ce")
        self.emit("    raise")
        self.emit("except GeneratorExit:")
        self.emit("    _cerr = DROPPED")
        self.emit("    raise")
        self.emit("finally:")
        self.emit(f"    if _cerr is not DROPPED: CLOSEALL({closing}, _cerr)")

    def stat_GenericFor(self, node: ast.GenericFor) -> None:
        values = self.explist(node.exprs)
        names = [f"_g{var.slot}" if var.captured else f"l{var.slot}" for var in node.bindings]
        step = self.temp()
        result = self.temp()

        def prologue():
            self.emit(f"{result} = yield from {step}")
            self.emit(f"if {result} is DONE: break")
            self.emit(f"{', '.join(names)} = {result}")
            for var in node.bindings:
                if var.captured:
                    self.emit(f"c{var.slot} = [_g{var.slot}]")
        self.line = node.exprs[0].line      # the iterator call's line (see the plain form)
        self._loop(node, [], f"for {step} in GENFORG({values}, {len(names)}):", prologue)

    STATEMENTS = {**FunctionCompiler.STATEMENTS, ast.GenericFor: stat_GenericFor}


class GeneratorChunkCompiler(ChunkCompiler):
    """A chunk's generator form: its own module, the plain form's closures."""

    FUNCTION_COMPILER = GeneratorFunctionCompiler

    def __init__(self, source: ChunkSource, chunkname: str, chunked_nesting: int):
        super().__init__(source.st, chunkname)
        self.chunked_nesting = chunked_nesting
        self.originals = source.protos
        self.defers = False
        #: The plain form's compiler, whose numbering this form follows.
        self.plain = source.factories.compiler

    def nested_function(self, compiler: type, node: ast.Function, declared_as) -> int:
        """Generate ``node`` now, under the plain form's index for it: a
        function the plain form has not numbered yet (nested in one it has
        not generated) is numbered there first, to generate later."""
        index = self.plain.indices.get(node.text.start)
        if index is None:
            index = self.plain.defer(node, declared_as)
        inner = compiler(self, node, index)
        inner.self_binding = declared_as
        inner.compile()
        return index

    def namespace(self) -> dict:
        namespace = generator_namespace(self.st)
        for index, proto in enumerate(self.originals):
            namespace[f"P{index}"] = proto.instantiate
        return namespace


def compile_generator_forms(source: ChunkSource, tree: ast.Chunk) -> None:
    """Give every prototype of ``source``'s chunk (``tree``) its ``gen_factory``."""
    try:
        factories, _ = GeneratorChunkCompiler(source, tree.chunkname, source.chunked_nesting).build(tree)
    except LuaSyntaxError:
        # Too nested for CPython with the generator form's longer lines:
        # one Python loop per numeric for, as ``compile_chunk`` retries.
        factories, _ = GeneratorChunkCompiler(source, tree.chunkname, 0).build(tree)
    for index, proto in enumerate(source.protos):
        proto.gen_factory = factories[f"__proto_{index}"]
