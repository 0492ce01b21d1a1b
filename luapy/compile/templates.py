"""The Python text of the inline fast paths, each built by one function.

Every template takes operand *text* that is safe to repeat (a name or a
literal, see ``SIMPLE``) and returns expression text; the slow path of each
is a runtime helper of ``luapy.runtime.helpers``.
"""

from __future__ import annotations

import re

#: Expression text that is a name or a literal: safe to repeat in a template.
SIMPLE = re.compile(r"(?:[lt]\d+|_t\d+|None|True|False|-?\d+|-?\d+\.\d+(?:e[-+]?\d+)?|INF|NINF|NAN|K\d+|'[^'\\]{0,40}')\Z")


def attributable(expression: str) -> str:
    """Parenthesise literals so ``X.attr`` in a template is valid Python."""
    if expression[:1].isdigit() or expression[:1] in "'\"-" or expression in ("None", "True", "False"):
        return f"({expression})"
    return expression


# -- reading tables -------------------------------------------------------

def table_check(obj: str, known_table: bool) -> str:
    """The test that ``obj`` is a table, unless the compiler knows it is."""
    return "" if known_table else f"type({obj}) is Table and "


def field_read(obj: str, key: str, desc, result: str = "_v", known_table: bool = False) -> str:
    """``obj[key]`` for a string ``key``: a plain table's hash part inline."""
    obj = attributable(obj)
    return (f"({result} if {table_check(obj, known_table)}(({result} := {obj}.hash.get({key})) is not None "
            f"or {obj}.meta is None) else INDEX({obj}, {key}, {desc!r}))")


def array_read(obj: str, k: int, desc, known_table: bool = False) -> str:
    """``obj[k]`` for a constant integer ``k >= 1``: the array part inline."""
    obj = attributable(obj)
    return (f"(_v if {table_check(obj, known_table)}((_v := ({obj}.arr[{k - 1}] if len({obj}.arr) >= {k} "
            f"else {obj}.hash.get({k}))) is not None or {obj}.meta is None) else INDEX({obj}, {k}, {desc!r}))")


def index_read(obj: str, key: str, desc, key_is_int: bool, known_table: bool = False,
               key_is_positive: bool = False) -> str:
    """``obj[key]`` for any key: an integer in the array part inline."""
    obj = attributable(obj)
    int_check = "" if key_is_int else f"type({key}) is int and "
    lower = "" if key_is_positive else "0 < "
    return (f"(_v if {table_check(obj, known_table)}((_v := ({obj}.arr[{key} - 1] if {int_check}"
            f"{lower}{key} <= len({obj}.arr) else {obj}.get({key}))) is not None or {obj}.meta is None) "
            f"else INDEX({obj}, {key}, {desc!r}))")


def helper_index(obj: str, key: str, desc) -> str:
    """``obj[key]`` through the runtime helper alone (compact code)."""
    return f"INDEX({obj}, {key}, {desc!r})"


# -- writing tables ---------------------------------------------------------

def array_store(obj: str, key: str, value: str, desc, key_is_int: bool, value_never_nil: bool,
                known_table: bool = False, key_is_positive: bool = False) -> list[str]:
    """``obj[key] = value``: appending to or storing into a plain table's
    array part inline; holes, hash keys and metatables go to ``SETINDEX``.
    Returns statement lines.

    The append is tested first, as the cheapest test: ``len(arr) == key - 1``
    says ``key >= 1`` too, and ``hash`` must be empty (an append migrates
    the keys after it out of ``hash``).  An append that opens a block of
    64 slots (key 1, 65, 129...) pays for the whole block up front: it is
    left to ``SETINDEX``, which charges it, so the inline one charges
    nothing.  Charging when a block is opened, not when it is filled, is
    what keeps a table that never reaches 64 entries from being free.
    """
    obj = attributable(obj)
    key_check = "" if key_is_int else f"type({key}) is int and "
    value_check = "" if value_never_nil else f" and {value} is not None"
    lower = "" if key_is_positive else "0 < "
    slow = f"SETINDEX({obj}, {key}, {value}, {desc!r})"
    return [f"if {table_check(obj, known_table)}{key_check}{obj}.meta is None{value_check}:",
            f"    if len(_a := {obj}.arr) == {key} - 1 and ({key} - 1) & 63 and not {obj}.hash: _a.append({value})",
            # ``gaps``: filling a hole ``next`` knows of is SETINDEX's.
            f"    elif {lower}{key} <= len(_a) and {obj}.gaps is None: _a[{key} - 1] = {value}",
            f"    else: {slow}",
            f"else: {slow}"]


# -- calls --------------------------------------------------------------------

#: A callee already in a Python variable of its own: read as it is, not
#: copied into ``_f`` first.
_VARIABLE = re.compile(r"(?:l|_t)\d+\Z")


def callee(function: str) -> tuple[str, str]:
    """The text that first reads the callee, and the name that reads it
    again after that."""
    if _VARIABLE.match(function):
        return function, function
    return f"(_f := {function})", "_f"


def call(function: str, args: str, desc) -> str:
    """A call's tuple of results: a Lua function called directly."""
    packed = f"({args},)" if args else "()"
    first, again = callee(function)
    return f"({again}.call({args}) if type({first}) is Function else CALL({again}, {packed}, {desc!r}))"


def self_call(function: str, args: str, own_name: str, desc) -> str:
    """A function calling itself through the local it was declared as
    (``local function f ... f(x) ... end``): straight to its own Python
    function while that local still holds it (``__me``, see
    ``luapy.compile.function``), else as any call."""
    packed = f"({args},)" if args else "()"
    first, again = callee(function)
    return (f"({own_name}({args}) if {first} is __me else {again}.call({args}) "
            f"if type({again}) is Function else CALL({again}, {packed}, {desc!r}))")


def self_call_first_value(function: str, args: str, single_name: str, single_args: str, desc) -> str:
    """A self call (``self_call``) whose first value alone is wanted, as in
    ``fib(n - 1) + fib(n - 2)``: straight to the function's single-result
    form (``FunctionCompiler.single_result_form``), which returns the value
    itself, so no tuple is built and taken apart.  ``single_args`` are the
    arguments fitted to that form's exact parameters."""
    packed = f"({args},)" if args else "()"
    first, again = callee(function)
    return (f"({single_name}({single_args}) if {first} is __me else "
            f"(_v[0] if (_v := ({again}.call({args}) if type({again}) is Function "
            f"else CALL({again}, {packed}, {desc!r}))) else None))")


def method_call(method: str, args: str, desc) -> str:
    """``obj:name(...)`` once the method is looked up; ``args`` starts with obj."""
    return f"({method}.call({args}) if type({method}) is Function else CALL({method}, ({args},), {desc!r}))"


def helper_call(function: str, args: str, desc) -> str:
    """A call through the runtime helper alone (compact code)."""
    packed = f"({args},)" if args else "()"
    return f"CALL({function}, {packed}, {desc!r})"


def tail_call(function: str, args: str, desc) -> str:
    """``return f(...)``: only Lua functions need the trampoline; builtins
    and ``__call`` run here, so their errors are positioned at this line as
    in lua5.4."""
    packed = f"({args},)" if args else "()"
    return (f"(TailCall({function}, {packed}, {desc!r}) if type({function}) is Function "
            f"and {function}.raw is not None else CALL({function}, {packed}, {desc!r}))")


def first_value(results: str) -> str:
    """The first of a tuple of results, or nil."""
    return f"(_v[0] if (_v := {results}) else None)"


# -- calls in the generator form (code that runs inside a coroutine) ---------
#
# A call delegates to the callee's generator form (``Function.gen``) with
# ``yield from``, so a ``coroutine.yield`` anywhere down the chain suspends
# every frame up to ``resume``.  ``CALLG`` makes the form of a Lua closure
# called this way for the first time, calls builtins that have none, and
# runs ``__call``.

def gen_call(function: str, args: str, desc) -> str:
    packed = f"({args},)" if args else "()"
    first, again = callee(function)
    return (f"(yield from (_gf({args}) if type({first}) is Function and (_gf := {again}.gen) is not None "
            f"else CALLG({again}, {packed}, {desc!r})))")


def gen_method_call(method: str, args: str, desc) -> str:
    return (f"(yield from (_gf({args}) if type({method}) is Function and (_gf := {method}.gen) is not None "
            f"else CALLG({method}, ({args},), {desc!r})))")


def gen_helper_call(function: str, args: str, desc) -> str:
    packed = f"({args},)" if args else "()"
    return f"(yield from CALLG({function}, {packed}, {desc!r}))"


def gen_tail_call(function: str, args: str, desc) -> str:
    """As ``tail_call``: the generator form's trampoline (``Function.gen`` of
    a function with tail calls) runs the ``TailCall``."""
    packed = f"({args},)" if args else "()"
    return (f"(TailCall({function}, {packed}, {desc!r}) if type({function}) is Function "
            f"and {function}.raw is not None else (yield from CALLG({function}, {packed}, {desc!r})))")
