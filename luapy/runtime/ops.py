"""Lua's operators with their full semantics: coercions and metamethods.

The compiler inlines the common cases (two ints, a table without a
metatable) and falls back here.  Library code calls these directly.  The
optional ``desc`` arguments name the operand the way lua5.4 does in its
messages ("local 't'", "field 'x'", "global 'f'").
"""

from __future__ import annotations

import math

from ..errors import LuaError, OperationError, StackOverflow
from .args import str_to_number  # charged to the running call
from .args import typename  # luaT_objtypename: a metatable's __name wins
from .values import (
    MAXINT, MININT, Coroutine, Function, Table, Userdata, float_to_int,
    number_to_str, tostring_basic, type_name, wrap_int,
)

#: Lua's MAXTAGLOOP: how long an __index/__newindex chain may be.
MAX_TAG_LOOP = 2000

_NEG_NAN = -math.nan

ARITH_EVENTS = {
    "+": "__add", "-": "__sub", "*": "__mul", "/": "__div", "%": "__mod",
    "^": "__pow", "//": "__idiv", "&": "__band", "|": "__bor", "~": "__bxor",
    "<<": "__shl", ">>": "__shr",
}
BITWISE_OPS = frozenset("& | ~ << >>".split())


def _with(desc):
    return f" ({desc})" if desc else ""


# ------------------------------------------------------------ metatables


def metatable(st, value):
    """The metatable of any value, or None (raw: ignores ``__metatable``)."""
    t = type(value)
    if t is Table or t is Userdata:
        return value.meta
    if t is str:
        return st.string_meta
    if st.type_metas:
        return st.type_metas.get(type_name(value))
    return None


def metamethod(st, value, event: str):
    t = type(value)
    if t is Table or t is Userdata:
        mt = value.meta
    elif t is str:
        mt = st.string_meta
    elif st.type_metas:
        mt = st.type_metas.get(type_name(value))
    else:
        return None
    if mt is None:
        return None
    return mt.hash.get(event)


# ------------------------------------------------------------------ calls


def call(st, fn, args) -> tuple:
    """Call any Lua value with ``args`` (a sequence); returns the results."""
    if type(fn) is Function:
        return fn.call(*args)
    handler = metamethod(st, fn, "__call")
    if handler is None:
        raise OperationError(f"attempt to call a {typename(fn)} value")
    return call(st, handler, (fn, *args))


def call_described(st, fn, args, desc) -> tuple:
    """``call`` for compiled call sites: the error names the callee."""
    if type(fn) is Function:
        return fn.call(*args)
    handler = metamethod(st, fn, "__call")
    if handler is None:
        raise OperationError(f"attempt to call a {typename(fn)} value{_with(desc)}")
    # A __call that isn't callable either is still named after the call site.
    return call_described(st, handler, (fn, *args), desc)


def call1(st, fn, *args):
    """Call a metamethod and keep only its first result."""
    results = call_metamethod(st, fn, args)
    return results[0] if results else None


def is_callable(st, value) -> bool:
    return type(value) is Function or metamethod(st, value, "__call") is not None


def call_event(st, event: str, handler, *args):
    """``call1`` for the metamethod of ``event``: one that can't be called
    is named as lua5.4 names it, "(metamethod 'add')"."""
    if type(handler) is not Function and metamethod(st, handler, "__call") is None:
        raise OperationError(f"attempt to call a {typename(handler)} value (metamethod '{event[2:]}')")
    return call1(st, handler, *args)


def check_callable_from_c(st, handler) -> None:
    """The error of a metamethod that lua5.4 calls from C code (lstrlib's
    arithmetic, closing while an error unwinds): no name, no position."""
    if not is_callable(st, handler):
        error = OperationError(f"attempt to call a {typename(handler)} value")
        error.level = 0
        raise error


def call_metamethod(st, handler, args) -> tuple:
    """Run a metamethod; one whose body has a lead is charged up front.

    Code that runs before its frame's prologue (its *lead*, ``luapy.compile``,
    "Accounting") reaches other Lua code only through here, so charging a
    lead-starting metamethod a level and a step as it is called keeps such
    frames from piling up uncounted.  Any other Lua function charges its
    own call in the prologue it starts with.
    """
    if st.defer_calls:
        defer(st, handler, args)
    if type(handler) is Function:
        proto = handler.proto
        if proto is None or not proto.lazy_prologue:
            return handler.call(*args)
    # A level and a step, as a prologue takes them (keeping the countdown
    # within the depth left, see luapy.runtime.state).
    depth_cell, steps_cell = st.depth_cell, st.steps_cell
    depth = depth_cell.cell_contents + 1
    if depth > st.max_depth:  # prologues without a countdown don't keep it in step
        raise StackOverflow("stack overflow")
    depth_cell.cell_contents = depth
    steps = steps_cell.cell_contents - 1
    steps_cell.cell_contents = steps
    if steps < 0:
        st.budget_check()  # a stack overflow gives the level back itself
    try:
        if type(handler) is Function:
            return handler.call(*args)
        return call(st, handler, args)
    finally:
        depth_cell.cell_contents -= 1


def defer(st, handler, args) -> None:
    """Inside a coroutine, an operator's generator-form helper
    (``luapy.runtime.generators``) runs the plain operator with
    ``st.defer_calls`` set: the first metamethod call it reaches is handed
    back to it, if Lua code (which may yield), instead of made here.  A
    builtin metamethod runs here, with the flag cleared so that whatever it
    calls is called plainly, as from C."""
    st.defer_calls = False
    if type(handler) is not Function or handler.proto is not None or handler.gen is not None:
        from .generators import DeferredCall
        raise DeferredCall(handler, args)


# --------------------------------------------------------------- indexing


def index(st, obj, key, desc=None):
    """``obj[key]`` with ``__index``."""
    for _ in range(MAX_TAG_LOOP):
        if type(obj) is Table:
            value = obj.get(key)
            if value is not None:
                return value
            mt = obj.meta
            if mt is None:
                return None
            handler = mt.hash.get("__index")
            if handler is None:
                return None
        else:
            handler = metamethod(st, obj, "__index")
            if handler is None:
                raise OperationError(_index_error(obj, key, desc))
        if type(handler) is Function:
            proto = handler.proto
            if st.defer_calls:
                defer(st, handler, (obj, key))
            if proto is None or not proto.lazy_prologue:  # the common case, kept direct
                results = handler.call(obj, key)
            else:
                results = call_metamethod(st, handler, (obj, key))
            return results[0] if results else None
        obj = handler
        desc = None
    raise OperationError("'__index' chain too long; possible loop")


def _index_error(obj, key, desc) -> str:
    return f"attempt to index a {typename(obj)} value{_with(desc)}"


def setindex(st, obj, key, value, desc=None) -> None:
    """``obj[key] = value`` with ``__newindex``."""
    for _ in range(MAX_TAG_LOOP):
        if type(obj) is Table:
            mt = obj.meta
            if mt is None:
                return _rawset_checked(st, obj, key, value)
            handler = mt.hash.get("__newindex")
            if handler is None or obj.get(key) is not None:
                return _rawset_checked(st, obj, key, value)
        else:
            handler = metamethod(st, obj, "__newindex")
            if handler is None:
                raise OperationError(f"attempt to index a {typename(obj)} value{_with(desc)}")
        if type(handler) is Function:
            proto = handler.proto
            if st.defer_calls:
                defer(st, handler, (obj, key, value))
            if proto is None or not proto.lazy_prologue:  # the common case, kept direct
                handler.call(obj, key, value)
            else:
                call_metamethod(st, handler, (obj, key, value))
            return None
        obj = handler
        desc = None
    raise OperationError("'__newindex' chain too long; possible loop")


#: What the memory budget is charged, in bytes, for one new table slot, one
#: new table, and the object behind one new string: close to what CPython
#: really spends (a dict entry plus growth slack; a Table with its list and
#: dict; a str header), so the budget tracks real memory.
SLOT_COST = 64
TABLE_COST = 160
STRING_COST = 48

#: The exchange rate between library work and the step budget: one step
#: per this many bytes (or elements) a library function copies, scans or
#: joins in C.  Copying 64 bytes takes a few nanoseconds, less than an
#: interpreted Lua step, so C-level work is charged at least as dearly as
#: the Lua code around it.  Work done element by element in Python (a
#: loop per byte or per value) is charged one step per element instead.
BYTES_PER_STEP = 64
#: Copying values (a spread ``f(1, ...)`` builds a tuple, the callee's
#: ``...`` another) costs a reference count each, a few nanoseconds: a step
#: per 16 of them.
VALUES_PER_STEP = 16


def charge_work(st, count: int) -> None:
    """Charge, before doing it, C-level work over ``count`` bytes or elements."""
    st.charge(1 + count // BYTES_PER_STEP)


def charge_string(st, nbytes: int) -> None:
    """Charge, before making it, a new string of ``nbytes``: its memory (a
    CPython str costs a header plus a byte per character) and the copy."""
    st.charge_memory(STRING_COST + nbytes)
    st.charge(1 + nbytes // BYTES_PER_STEP)


def _rawset_checked(st, table: Table, key, value) -> None:
    if value is not None and st.memory_left < (1 << 61):
        st.charge_memory(SLOT_COST)
    table.set(key, value)


def rawset(st, table: Table, key, value) -> None:
    _rawset_checked(st, table, key, value)


# ------------------------------------------------------------- arithmetic


def tonumber(value):
    """Coerce for arithmetic: numbers pass, strings convert, else None."""
    t = type(value)
    if t is int or t is float:
        return value
    if t is str:
        return str_to_number(value)
    return None


def tointeger(value):
    """Coerce for bitwise ops / integer arguments; None if impossible."""
    t = type(value)
    if t is int:
        return value
    if t is float:
        return float_to_int(value)
    if t is str:
        number = str_to_number(value)
        if number is None:
            return None
        return number if type(number) is int else float_to_int(number)
    return None


def arith(st, op: str, a, b, desc_a=None, desc_b=None):
    """Any binary arithmetic or bitwise operator, metamethods included."""
    if op in BITWISE_OPS:
        # Strings are not coerced here: lua5.4's string metatable only
        # defines the arithmetic metamethods.
        x, y = _integer_operand(a), _integer_operand(b)
        if x is not None and y is not None:
            return BITWISE[op](x, y)
    else:
        x, y = tonumber(a), tonumber(b)
        if x is not None and y is not None:
            if type(a) is not str and type(b) is not str:
                return ARITH[op](x, y)
            try:
                return ARITH[op](x, y)
            except LuaError as error:
                # In lua5.4 string operands are converted by the string
                # metatable's C metamethods, so errors raised there
                # ("attempt to divide by zero") carry no position.
                error.level = 0
                raise
    event = ARITH_EVENTS[op]
    for operand in (a, b):
        if type(operand) is str and op not in BITWISE_OPS:
            return _string_arith(st, event, a, b)
        handler = metamethod(st, operand, event)
        if handler is not None:
            return call_event(st, event, handler, a, b)
    raise OperationError(_arith_error(op, a, b, desc_a, desc_b))


def _string_arith(st, event: str, a, b):
    """What the string metatable's arithmetic metamethods do in lua5.4.

    Coercion has already failed; the other operand's own metamethod gets a
    chance (lstrlib's ``trymt``), else the error names both types.
    """
    if type(b) is not str:
        handler = metamethod(st, b, event)
        if handler is not None:
            check_callable_from_c(st, handler)
            return call1(st, handler, a, b)
    raise OperationError(f"attempt to {event[2:]} a '{type_name(a)}' with a '{type_name(b)}'")


def _integer_operand(value):
    t = type(value)
    if t is int:
        return value
    if t is float:
        return float_to_int(value)
    return None


def _is_number(value) -> bool:
    return type(value) is int or type(value) is float


def _arith_error(op, a, b, desc_a, desc_b) -> str:
    if op in BITWISE_OPS:
        if _is_number(a) and _is_number(b):
            desc = desc_a if _integer_operand(a) is None else desc_b
            return f"number{_with(desc)} has no integer representation"
        if not _is_number(a):
            bad, desc = a, desc_a
        else:
            bad, desc = b, desc_b
        return f"attempt to perform bitwise operation on a {typename(bad)} value{_with(desc)}"
    if tonumber(a) is None:
        bad, desc = a, desc_a
    else:
        bad, desc = b, desc_b
    return f"attempt to perform arithmetic on a {typename(bad)} value{_with(desc)}"


def add(a, b):
    if type(a) is int and type(b) is int:
        r = a + b
        return r if MININT <= r <= MAXINT else wrap_int(r)
    return float(a) + float(b)


def sub(a, b):
    if type(a) is int and type(b) is int:
        r = a - b
        return r if MININT <= r <= MAXINT else wrap_int(r)
    return float(a) - float(b)


def mul(a, b):
    if type(a) is int and type(b) is int:
        r = a * b
        return r if MININT <= r <= MAXINT else wrap_int(r)
    return float(a) * float(b)


def div(a, b):
    a = float(a)
    b = float(b)
    try:
        return a / b
    except ZeroDivisionError:
        if a != a or a == 0.0:
            return _NEG_NAN
        return math.copysign(math.inf, a) * math.copysign(1.0, b)


def mod(a, b):
    if type(a) is int and type(b) is int:
        if b == 0:
            raise OperationError("attempt to perform 'n%0'")
        return a % b
    return fmod_lua(float(a), float(b))


def fmod_lua(a: float, b: float) -> float:
    if a != a:
        return a  # a NaN operand propagates with its sign, as in C
    if b != b:
        return b
    if b == 0.0 or math.isinf(a):
        return _NEG_NAN  # C's fmod: the default NaN, negative on x86
    if math.isinf(b):
        if a == 0.0 or (a > 0) == (b > 0):
            return a
        return b
    m = math.fmod(a, b)
    if m != 0.0 and (m < 0) != (b < 0):
        m += b
    return m


def idiv(a, b):
    if type(a) is int and type(b) is int:
        if b == 0:
            raise OperationError("attempt to divide by zero")
        return a // b if b != -1 else wrap_int(-a)
    quotient = div(a, b)
    if not math.isfinite(quotient):
        return quotient
    floored = float(math.floor(quotient))
    return floored if floored else math.copysign(0.0, quotient)  # keep -0.0


def pow_(a, b):
    a = float(a)
    b = float(b)
    if b == 2.0:
        return a * a  # lua5.4's luai_numpow special case
    if a != a:
        # glibc's pow keeps a NaN base's sign, except that an odd integer
        # exponent clears it (and x^0 is 1).
        if b == 0.0:
            return 1.0
        negative = math.copysign(1.0, a) < 0 and not (b.is_integer() and b % 2 == 1)
        return _NEG_NAN if negative else math.nan
    try:
        return math.pow(a, b)
    except OverflowError:
        return math.inf if a > 0 or b % 2 == 0 else -math.inf
    except (ValueError, ZeroDivisionError):
        if a == 0.0 and b < 0:
            if b % 2 == 1 and math.copysign(1.0, a) < 0:
                return -math.inf
            return math.inf
        return _NEG_NAN


def unm(a):
    if type(a) is int:
        return wrap_int(-a) if a == MININT else -a
    return -a


def band(a, b):
    return a & b


def bor(a, b):
    return a | b


def bxor(a, b):
    return a ^ b


def shl(a, n):
    if n < 0:
        return shr(a, -n)
    if n >= 64:
        return 0
    return wrap_int(a << n)


def shr(a, n):
    if n < 0:
        return shl(a, -n)
    if n >= 64:
        return 0
    return wrap_int((a & 0xFFFFFFFFFFFFFFFF) >> n)


ARITH = {"+": add, "-": sub, "*": mul, "/": div, "%": mod, "//": idiv, "^": pow_}
BITWISE = {"&": band, "|": bor, "~": bxor, "<<": shl, ">>": shr}


def negate(st, a, desc=None):
    """Unary minus with coercion and ``__unm``."""
    x = tonumber(a)
    if x is not None:
        return unm(x)
    if type(a) is str:
        return _string_arith(st, "__unm", a, a)
    handler = metamethod(st, a, "__unm")
    if handler is not None:
        return call_event(st, "__unm", handler, a, a)
    raise OperationError(f"attempt to perform arithmetic on a {typename(a)} value{_with(desc)}")


def bnot(st, a, desc=None):
    x = _integer_operand(a)
    if x is not None:
        return wrap_int(~x)
    handler = metamethod(st, a, "__bnot")
    if handler is not None:
        return call_event(st, "__bnot", handler, a, a)
    if _is_number(a):
        raise OperationError(f"number{_with(desc)} has no integer representation")
    raise OperationError(f"attempt to perform bitwise operation on a {typename(a)} value{_with(desc)}")


def length(st, value, desc=None):
    """``#value`` with ``__len``."""
    t = type(value)
    if t is str:
        return len(value)
    handler = metamethod(st, value, "__len")
    if handler is not None:
        return call_event(st, "__len", handler, value, value)
    if t is Table:
        return len(value.arr)
    raise OperationError(f"attempt to get length of a {typename(value)} value{_with(desc)}")


# ------------------------------------------------------------ comparison


def equals(st, a, b) -> bool:
    """``a == b`` with ``__eq``."""
    ta = type(a)
    tb = type(b)
    if ta is tb:
        if ta is Table or ta is Userdata:
            if a is b:
                return True
            handler = metamethod(st, a, "__eq")
            if handler is None:
                handler = metamethod(st, b, "__eq")
            if handler is None:
                return False
            return truthy(call_event(st, "__eq", handler, a, b))
        return a == b
    if (ta is int and tb is float) or (ta is float and tb is int):
        return a == b
    return False


def raw_equals(a, b) -> bool:
    ta = type(a)
    tb = type(b)
    if ta is tb:
        if ta is Table or ta is Userdata or ta is Function:
            return a is b
        return a == b
    if (ta is int and tb is float) or (ta is float and tb is int):
        return a == b
    return False


def less_than(st, a, b) -> bool:
    ta = type(a)
    tb = type(b)
    if (ta is int or ta is float) and (tb is int or tb is float):
        return a < b
    if ta is str and tb is str:
        return a < b
    handler = metamethod(st, a, "__lt") or metamethod(st, b, "__lt")
    if handler is not None:
        return truthy(call_event(st, "__lt", handler, a, b))
    raise OperationError(_compare_error(a, b))


def less_equal(st, a, b) -> bool:
    ta = type(a)
    tb = type(b)
    if (ta is int or ta is float) and (tb is int or tb is float):
        return a <= b
    if ta is str and tb is str:
        return a <= b
    handler = metamethod(st, a, "__le") or metamethod(st, b, "__le")
    if handler is not None:
        return truthy(call_event(st, "__le", handler, a, b))
    raise OperationError(_compare_error(a, b))


def _compare_error(a, b) -> str:
    t1 = typename(a)
    t2 = typename(b)
    if t1 == t2:
        return f"attempt to compare two {t1} values"
    return f"attempt to compare {t1} with {t2}"


def truthy(value) -> bool:
    return value is not None and value is not False


# ---------------------------------------------------------- concatenation


def concat(st, a, b, desc_a=None, desc_b=None):
    """``a .. b`` with ``__concat``; charges the result's size."""
    ta = type(a)
    tb = type(b)
    if (ta is str or ta is int or ta is float) and (tb is str or tb is int or tb is float):
        sa = a if ta is str else number_to_str(a)
        sb = b if tb is str else number_to_str(b)
        charge_string(st, len(sa) + len(sb))
        return sa + sb
    handler = metamethod(st, a, "__concat")
    if handler is None:
        handler = metamethod(st, b, "__concat")
    if handler is not None:
        return call_event(st, "__concat", handler, a, b)
    if ta is str or ta is int or ta is float:
        bad, desc = b, desc_b
    else:
        bad, desc = a, desc_a
    raise OperationError(f"attempt to concatenate a {typename(bad)} value{_with(desc)}")


# ------------------------------------------------------------ tostring


def tostring(st, value) -> str:
    """``tostring(value)``: ``__tostring``, then ``__name``, then the default."""
    t = type(value)
    if t is str:
        return value
    if t is int or t is float:
        return number_to_str(value)
    mt = metatable(st, value)
    if mt is not None:
        handler = mt.hash.get("__tostring")
        if handler is not None:
            result = call1(st, handler, value)
            if type(result) is not str:
                if type(result) in (int, float):
                    return number_to_str(result)
                raise LuaError("'__tostring' must return a string")
            return result
        name = mt.hash.get("__name")
        if type(name) is str and (t is Table or t is Userdata):
            charge_string(st, len(name) + 20)  # the name is copied into the result
            return f"{name}: {tostring_basic(value).split(': ')[-1]}"
    return tostring_basic(value)


__all__ = [
    "Coroutine", "Function", "Table", "Userdata", "arith", "bnot", "call",
    "call1", "call_metamethod", "concat", "equals", "index", "length", "less_equal",
    "less_than", "metamethod", "metatable", "negate", "raw_equals",
    "setindex", "tointeger", "tonumber", "tostring", "truthy",
]
