"""The ``math`` library (Lua 5.4 manual §6.7), ported from ``lmathlib.c``.

The C library functions are reproduced with glibc's results where Python's
``math`` module raises instead (``sqrt(-1)`` is ``-nan``, ``log(0)`` is
``-inf``, ``exp(1000)`` is ``inf``).  ``random`` is Lua 5.4's xoshiro256**
generator, bit for bit, so a given seed yields lua5.4's sequence.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from ..errors import LuaError
from ..runtime import ops
from ..runtime.args import (
    arg_error, check_any, check_int, check_num, opt_int, register,
)
from ..runtime.values import MAXINT, MININT, Table, float_to_int, wrap_int

if TYPE_CHECKING:
    from ..runtime.state import State

_MASK64 = 0xFFFFFFFFFFFFFFFF
_NAN = math.nan
_NEG_NAN = -math.nan  # what glibc returns for invalid operations


def _float_arg(args, n: int, fname: str) -> float:
    """``luaL_checknumber``: always a C double."""
    return float(check_num(args, n, fname))


def _int_or_float(value: float):
    """``pushnumint``: the float as an integer when it has one."""
    as_int = float_to_int(value) if value == value else None
    return value if as_int is None else as_int


def _c_unary(func, domain_error=_NEG_NAN):
    """Wrap a Python math function with C's results instead of exceptions."""
    def apply(x: float) -> float:
        try:
            return func(x)
        except ValueError:
            return x if x != x else domain_error
        except OverflowError:
            return math.inf
    return apply


_sqrt = _c_unary(math.sqrt)
_sin = _c_unary(math.sin)
_cos = _c_unary(math.cos)
_tan = _c_unary(math.tan)
_asin = _c_unary(math.asin, _NAN)
_acos = _c_unary(math.acos, _NAN)
_exp = _c_unary(math.exp)


def c_log(x: float, func=math.log) -> float:
    """C ``log``/``log2``/``log10``: -inf at zero, nan below it."""
    if x != x:
        return x
    if x == 0.0:
        return -math.inf
    if x < 0.0:
        return _NAN  # glibc's log(-1) prints "nan" in lua5.4, not "-nan"
    if x == math.inf:
        return x
    return func(x)


def _c_fmod(a: float, b: float) -> float:
    if a != a:
        return a
    if b != b:
        return b
    if b == 0.0 or math.isinf(a):
        return _NEG_NAN
    return math.fmod(a, b)


# ----------------------------------------------------------- xoshiro256**


def _rotl(x: int, n: int) -> int:
    return ((x << n) | (x >> (64 - n))) & _MASK64


class Xoshiro256:
    """Lua 5.4's pseudo-random generator state (``RanState``)."""

    __slots__ = ("s",)

    def __init__(self):
        self.s = [0, 0, 0, 0]

    def next(self) -> int:
        s = self.s
        s0, s1 = s[0], s[1]
        s2 = s[2] ^ s0
        s3 = s[3] ^ s1
        result = (_rotl((s1 * 5) & _MASK64, 7) * 9) & _MASK64
        s[0] = s0 ^ s3
        s[1] = s1 ^ s2
        s[2] = s2 ^ ((s1 << 17) & _MASK64)
        s[3] = _rotl(s3, 45)
        return result

    def seed(self, n1: int, n2: int) -> None:
        self.s = [n1 & _MASK64, 0xFF, n2 & _MASK64, 0]  # 0xff avoids a zero state
        for _ in range(16):  # discard initial values to "spread" the seed
            self.next()

    def project(self, ran: int, n: int) -> int:
        """Project ``ran`` uniformly into ``[0, n]`` (all unsigned)."""
        if n & (n + 1) == 0:  # n + 1 is a power of 2
            return ran & n
        lim = n
        for shift in (1, 2, 4, 8, 16, 32):  # smallest 2^b - 1 not below n
            lim |= lim >> shift
        ran &= lim
        while ran > n:
            ran = self.next() & lim
        return ran


def _to_unit_float(rv: int) -> float:
    """The top 53 bits as a float in [0, 1)."""
    return (rv >> 11) * (0.5 / (1 << 52))


class MathLibrary:
    """The ``math`` functions of one runtime, with its own random generator.

    ``register`` stores the bound methods, which cost no more to call than
    closures over ``st`` did.
    """

    __slots__ = ("st", "generator")

    def __init__(self, st: State):
        self.st = st
        self.generator = Xoshiro256()

    def abs_(self, *args):
        x = args[0] if args else None
        if type(x) is int:
            return (wrap_int(-x) if x < 0 else x,)
        return (math.fabs(_float_arg(args, 1, "abs")),)

    def ceil(self, *args):
        x = args[0] if args else None
        if type(x) is int:
            return (x,)
        value = _float_arg(args, 1, "ceil")
        if math.isfinite(value):
            value = float(math.ceil(value)) if value != 0.0 else value
        return (_int_or_float(value),)

    def floor(self, *args):
        x = args[0] if args else None
        if type(x) is int:
            return (x,)
        value = _float_arg(args, 1, "floor")
        if math.isfinite(value):
            value = float(math.floor(value)) if value != 0.0 else value
        return (_int_or_float(value),)

    def fmod(self, *args):
        a = args[0] if args else None
        b = args[1] if len(args) >= 2 else None
        if type(a) is int and type(b) is int:
            if b == 0:
                arg_error(2, "fmod", "zero")
            if b == -1:  # avoids overflow of mininteger % -1 in C
                return (0,)
            result = abs(a) % abs(b)  # C '%' truncates towards zero
            return (-result if a < 0 else result,)
        # lua5.4 checks both in one C call's arguments, which gcc evaluates
        # right to left: a bad second argument is the one reported.
        divisor = _float_arg(args, 2, "fmod")
        return (_c_fmod(_float_arg(args, 1, "fmod"), divisor),)

    def modf(self, *args):
        x = args[0] if args else None
        if type(x) is int:
            return (x, 0.0)
        n = _float_arg(args, 1, "modf")
        if math.isfinite(n):
            ip = float(math.ceil(n) if n < 0 else math.floor(n))
        else:
            ip = n
        frac = 0.0 if n == ip else n - ip
        return (_int_or_float(ip), frac)

    def sqrt(self, *args):
        return (_sqrt(_float_arg(args, 1, "sqrt")),)

    def sin(self, *args):
        return (_sin(_float_arg(args, 1, "sin")),)

    def cos(self, *args):
        return (_cos(_float_arg(args, 1, "cos")),)

    def tan(self, *args):
        return (_tan(_float_arg(args, 1, "tan")),)

    def asin(self, *args):
        return (_asin(_float_arg(args, 1, "asin")),)

    def acos(self, *args):
        return (_acos(_float_arg(args, 1, "acos")),)

    def atan(self, *args):
        y = _float_arg(args, 1, "atan")
        x = 1.0 if len(args) < 2 or args[1] is None else _float_arg(args, 2, "atan")
        if x != x or y != y:
            return (x + y,)  # glibc's atan2 keeps the NaN's sign; Python's drops it
        return (math.atan2(y, x),)

    def exp(self, *args):
        return (_exp(_float_arg(args, 1, "exp")),)

    def log(self, *args):
        x = _float_arg(args, 1, "log")
        if len(args) < 2 or args[1] is None:
            return (c_log(x),)
        base = _float_arg(args, 2, "log")
        if base == 2.0:
            return (c_log(x, math.log2),)
        if base == 10.0:
            return (c_log(x, math.log10),)
        return (ops.div(c_log(x), c_log(base)),)

    def deg(self, *args):
        return (_float_arg(args, 1, "deg") * (180.0 / math.pi),)

    def rad(self, *args):
        return (_float_arg(args, 1, "rad") * (math.pi / 180.0),)

    def min_(self, *args):
        st = self.st
        if not args:
            arg_error(1, "min", "value expected")
        best = args[0]
        for value in args[1:]:
            if ops.less_than(st, value, best):
                best = value
        return (best,)

    def max_(self, *args):
        st = self.st
        if not args:
            arg_error(1, "max", "value expected")
        best = args[0]
        for value in args[1:]:
            if ops.less_than(st, best, value):
                best = value
        return (best,)

    def tointeger(self, *args):
        x = args[0] if args else None
        result = ops.tointeger(x)
        if result is None:
            check_any(args, 1, "tointeger")
        return (result,)

    def type_(self, *args):
        x = args[0] if args else None
        if type(x) is int:
            return ("integer",)
        if type(x) is float:
            return ("float",)
        check_any(args, 1, "type")
        return (None,)

    def ult(self, *args):
        a = check_int(args, 1, "ult")
        b = check_int(args, 2, "ult")
        return ((a & _MASK64) < (b & _MASK64),)

    def random(self, *args):
        rv = self.generator.next()
        nargs = len(args)
        if nargs == 0:
            return (_to_unit_float(rv),)
        if nargs == 1:
            low = 1
            up = check_int(args, 1, "random")
            if up == 0:  # random(0): all 64 bits
                return (wrap_int(rv),)
        elif nargs == 2:
            low = check_int(args, 1, "random")
            up = check_int(args, 2, "random")
        else:
            raise LuaError("wrong number of arguments")
        if not low <= up:
            arg_error(1, "random", "interval is empty")
        offset = self.generator.project(rv, (up - low) & _MASK64)
        return (wrap_int(offset + low),)

    def randomseed(self, *args):
        st = self.st
        if not args:
            n1, n2 = _default_seed(st)
        else:
            n1 = check_int(args, 1, "randomseed")
            n2 = opt_int(args, 2, "randomseed", 0)
        self.generator.seed(n1, n2)
        return (wrap_int(n1), wrap_int(n2))


def open_library(st: State) -> Table:
    library = MathLibrary(st)
    lib = Table()
    for name, func in (
        ("abs", library.abs_), ("ceil", library.ceil), ("floor", library.floor),
        ("fmod", library.fmod), ("modf", library.modf), ("sqrt", library.sqrt),
        ("sin", library.sin), ("cos", library.cos), ("tan", library.tan),
        ("asin", library.asin), ("acos", library.acos), ("atan", library.atan),
        ("exp", library.exp), ("log", library.log), ("deg", library.deg),
        ("rad", library.rad), ("min", library.min_), ("max", library.max_),
        ("tointeger", library.tointeger), ("type", library.type_), ("ult", library.ult),
        ("random", library.random), ("randomseed", library.randomseed),
    ):
        register(lib, name, func)
    lib.set("pi", math.pi)
    lib.set("huge", math.inf)
    lib.set("maxinteger", MAXINT)
    lib.set("mininteger", MININT)
    library.generator.seed(*_default_seed(st))
    return lib


def _default_seed(st: State) -> tuple[int, int]:
    """Like ``randseed``: the time plus this runtime's address."""
    return wrap_int(int(time.time())), wrap_int(id(st) ^ time.perf_counter_ns())
