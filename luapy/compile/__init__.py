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

The package, one module per job:

* ``chunk``        the generated module: the chunk's compiler, turning the
  source into code objects bound to the runtime, making closures;
* ``function``     ``FunctionCompiler``: one Lua function's Python function,
  its output buffer and temporaries, built from the three parts below;
* ``statements``   statements and control flow (blocks, loops, jumps,
  ``if`` chains, assignments, ``<close>`` scopes);
* ``expressions``  expressions: constants, variables, tables, operators,
  conditions;
* ``calls``        calls and what they carry: argument lists, tail calls,
  the depth/step accounting of a call, and how errors name values;
* ``templates``    the Python text of every inline fast path, through
  named functions, in one place;
* ``analysis``     questions asked of the syntax tree (side effects,
  call-free leads, constant values).
"""

from .chunk import CLOSURE_COST, UPVALUE_COST, compile_chunk, generated_source
from .function import COMPACT_FUNCTION_SIZE, FunctionCompiler, Proto

__all__ = ["CLOSURE_COST", "COMPACT_FUNCTION_SIZE", "FunctionCompiler", "Proto", "UPVALUE_COST",
           "compile_chunk", "generated_source"]
