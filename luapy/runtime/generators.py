"""The run-time side of the generator form: Lua code inside a coroutine.

A coroutine has no stack of its own: the compiler gives every Lua function
a second form, a Python generator (``luapy.compile.generator``), and code
running inside a coroutine calls the generator form of whatever it calls
with ``yield from``.  ``coroutine.yield`` is then a plain Python ``yield``
at the bottom of that chain, and ``resume`` a ``send`` at its top
(``luapy.stdlib.corolib``).  What generated generator code calls is here:

* ``CALLG`` calls a value that has no generator form yet: it makes the
  form of a Lua closure (``generator_form``), calls a builtin that has none
  (a C function in lua5.4's terms: no yield can cross it), runs ``__call``;
* ``INDEXG``, ``ARITHG``, ... are the operator helpers of
  ``luapy.runtime.helpers`` with room for a metamethod that yields: they run
  the plain helper with ``State.defer_calls`` set, so that the first Lua
  metamethod it reaches is not called but handed back (``DeferredCall``),
  and run that metamethod's generator form instead;
* ``GENFORG`` drives a generic ``for`` whose iterator may yield.
"""

from __future__ import annotations

from functools import partial

from ..errors import LuaError, LuaException, LuaLimitError, StackOverflow
from . import helpers, ops
from .frames import PROTECTED_CODES, UNWINDING, past_unwound
from .helpers import TailCall, locate_at_entry, replacing, runtime_namespace, unwinding_frame, unwinding_value
from .values import Function, Table

#: What a memory budget is charged for a closure's generator form (a
#: Python function object, like the closure's plain form).
GENERATOR_FORM_COST = 200
#: A ``GENFORG`` step's result when the loop is over.
DONE = object()
#: ``<close>`` variables are not closed when a suspended coroutine is
#: garbage collected (lua5.4 closes them only on ``coroutine.close``).
DROPPED = object()


class DeferredCall(Exception):
    """The Lua metamethod a plain operator helper was about to call.

    Raised (``ops.defer``) only while ``State.defer_calls`` is set, by an
    ``...G`` helper that then runs ``handler`` in generator form itself.
    """

    def __init__(self, handler, args):
        self.handler = handler
        self.args = args


def generator_form(st, fn: Function):
    """``fn.gen`` for a Lua closure, made the first time it is needed."""
    proto = fn.proto
    if proto.gen_factory is None:
        proto.chunk.compile_generators()
    st.charge_memory(GENERATOR_FORM_COST)
    gen = proto.gen_factory(fn.upvals)
    if proto.has_tail_calls:
        gen = _trampolined(st, gen)
    fn.gen = gen
    return gen


def _trampolined(st, raw):
    """A generator form that runs the tail calls its body returns."""
    run_tail = st.run_tail_gen

    def gen(*args):
        result = yield from raw(*args)
        if result.__class__ is TailCall:
            return (yield from run_tail(result))
        return result
    gen.raw = raw
    return gen


def call_generator(st, fn, args, desc=None):
    """Call any Lua value in generator form (``CALLG``): a Lua closure's
    form is made the first time, a builtin without one is called plainly,
    ``__call`` is followed."""
    if type(fn) is Function:
        gen = fn.gen
        if gen is not None:
            return (yield from gen(*args))
        if fn.proto is not None:
            return (yield from generator_form(st, fn)(*args))
        return fn.call(*args)
    handler = ops.metamethod(st, fn, "__call")
    if handler is None:
        return ops.call_described(st, fn, args, desc)   # raises the error
    return (yield from call_generator(st, handler, (fn, *args), desc))


def _first(results):
    return results[0] if results else None


def _truth(results):
    return bool(results) and results[0] is not None and results[0] is not False


def _nothing(results):
    return None


def generator_namespace(st) -> dict:
    """The globals of generator-form code: the plain helpers, and these."""
    namespace = runtime_namespace(st)

    CALLG = partial(call_generator, st)

    def run_deferred(handler, args):
        """Call a metamethod as ``ops.call_metamethod`` does, in generator form."""
        if type(handler) is not Function or handler.proto is None or not handler.proto.lazy_prologue:
            return (yield from CALLG(handler, args, None))
        depth_cell = st.depth_cell
        if depth_cell.cell_contents + 1 > st.max_depth:
            raise StackOverflow("stack overflow")
        depth_cell.cell_contents += 1
        st.charge(1)
        try:
            return (yield from CALLG(handler, args, None))
        finally:
            depth_cell.cell_contents -= 1

    def yieldable(plain, result):
        """The generator form of operator helper ``plain``; ``result`` turns
        a deferred metamethod's results into the helper's value."""
        def helper(*args):
            st.defer_calls = True
            try:
                value = plain(*args)
            except DeferredCall as deferred:  # ``ops.defer`` cleared the flag
                return result((yield from run_deferred(deferred.handler, deferred.args)))
            except BaseException:
                st.defer_calls = False
                raise
            # Not in a ``finally``: that would also run when a suspended
            # coroutine is collected, in the middle of whatever runs then.
            st.defer_calls = False
            return value
        return helper

    concat_pair = yieldable(lambda a, b, da, db: ops.concat(st, a, b, da, db), _first)
    plain_concat = namespace["CONCAT"]

    def CONCATG(values, descs):
        for v in values:
            tv = type(v)
            if tv is not str and tv is not int and tv is not float:
                break
        else:
            return plain_concat(values, descs)
        result = values[-1]
        last = len(values) - 1
        for i in range(last - 1, -1, -1):
            result = yield from concat_pair(values[i], result, descs[i], descs[i + 1] if i + 1 == last else None)
        return result

    def GENFORG(values, count):
        return GenericForSteps(st, values, count, CALLG)

    def run_tail_gen(tail):
        """``helpers.tail_runner`` in generator form."""
        while True:
            fn = tail.fn
            if type(fn) is not Function or fn.proto is None:
                return (yield from CALLG(fn, tail.args, tail.desc))
            gen = fn.gen or generator_form(st, fn)
            try:
                result = yield from getattr(gen, "raw", gen)(*tail.args)
            except LuaException as error:
                if error.level == 1:
                    locate_at_entry(error)
                raise
            if result.__class__ is not TailCall:
                return result
            tail = result

    st.run_tail_gen = run_tail_gen
    for name, result in (("INDEX", _first), ("GLOBAL_U", _first), ("GLOBAL_L", _first),
                         ("SETFIELD", _nothing), ("SETINDEX", _nothing), ("ARITH", _first),
                         ("EQ", _truth), ("LT", _truth), ("LE", _truth), ("NEG", _first),
                         ("BNOT", _first), ("LEN", _first)):
        namespace[name + "G"] = yieldable(namespace[name], result)
    close_normally = yieldable(partial(helpers._close, st), _nothing)

    def close_one(value, error):
        """``helpers._close`` in generator form: a ``__close`` may yield, as
        in lua5.4 (locals.lua:853), on the way out of its block or while an
        error unwinds it."""
        if error is None:
            return (yield from close_normally(value, None))
        handler = ops.metamethod(st, value, "__close")
        frame = unwinding_frame(st, error)
        ops.check_callable_from_c(st, handler)  # lua5.4 unwinds outside any Lua frame
        unwinding = id(frame)
        arguments = (value, unwinding_value(st, error))
        caught = getattr(error, "caught_in_coroutine", None)
        if caught is None:
            # Once per error, not per variable: the search walks every
            # frame up to the catch, and a deep unwinding closes many.
            caught_at = past_unwound(frame)
            caught = caught_at is not None and caught_at.f_code in PROTECTED_CODES
            if isinstance(error, LuaException):
                error.caught_in_coroutine = caught
        UNWINDING.add(unwinding)
        try:
            if caught:
                yield from CALLG(handler, arguments, None)
            else:
                # Nothing in the coroutine catches the error: lua5.4 closes
                # its variables from C (coroutine.close, or wrap's error
                # path), where a yield fails.
                ops.call(st, handler, arguments)
        finally:
            UNWINDING.discard(unwinding)
        return None

    def CLOSEALLG(values, error):
        """``CLOSEALL`` in generator form."""
        raised = None
        for value in reversed(values):
            if value is not None and value is not False:
                try:
                    yield from close_one(value, error)
                except LuaError as failure:
                    if not isinstance(error, LuaLimitError):
                        error = raised = replacing(failure, error)
                except GeneratorExit:   # a dropped coroutine closes nothing
                    raise
                except BaseException as other:   # coroutine.close's kill, say
                    raised = other
        values.clear()
        if raised is not None:
            raise raised

    namespace["CLOSEALLG"] = CLOSEALLG
    namespace.update({
        "CALLG": CALLG, "CONCATG": CONCATG, "GENFORG": GENFORG,
        "DONE": DONE, "DROPPED": DROPPED, "GeneratorExit": GeneratorExit,
    })
    return namespace


class GenericForSteps:
    """A generic ``for`` in generator form: each item is a generator that
    runs one step (``yield from`` it) and returns the loop variables, or
    ``DONE``.  Tables walked by ``pairs``/``ipairs``, and loops with a
    closing value, go through the plain driver (no call to yield across).
    """

    __slots__ = ("st", "iterator", "state", "control", "count", "plain", "call")

    def __init__(self, st, values, count, call):
        self.st = st
        self.count = count
        self.call = call
        iterator = values[0] if values else None
        self.iterator = iterator
        self.state = state = values[1] if len(values) > 1 else None
        self.control = values[2] if len(values) > 2 else None
        closing = values[3] if len(values) > 3 else None
        self.plain = None
        if closing is not None and closing is not False or (
                type(state) is Table and count <= 2 and iterator in (st.next_function, st.ipairs_iterator)):
            self.plain = helpers._generic_for(st, values, count)

    def __iter__(self):
        return self

    def __next__(self):
        plain = self.plain
        if plain is not None:
            return _ready(next(plain))
        return self.step()

    def step(self):
        iterator = self.iterator
        if type(iterator) is Function and iterator.gen is not None:
            results = yield from iterator.gen(self.state, self.control)
        else:
            results = yield from self.call(iterator, (self.state, self.control), "for iterator 'for iterator'")
        control = results[0] if results else None
        if control is None:
            return DONE
        self.control = control
        count = self.count
        if count == 1:
            return control
        if len(results) == count:
            return results
        return (*results, *((None,) * count))[:count]


def _ready(value):
    """A step whose values are already known."""
    return value
    yield  # noqa: the generator form of a plain value



helpers.add_call_code(call_generator.__code__)
