"""``string.format`` with C printf's exact output (lstrlib.c ``str_format``).

A format string is parsed once into literal text and conversion specs and
the parse is cached per runtime.  Every check happens in the order lstrlib
makes it (missing argument, then the spec's shape, then the argument's
type, which for some conversions comes before the shape), so the first
error raised is the one lua5.4 raises.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from ..errors import LuaError
from ..runtime import ops
from ..runtime.args import arg_error, check_int, check_num, check_str
from ..runtime.values import (
    MININT, Coroutine, Function, Table, Userdata, address_of, tostring_basic,
)

if TYPE_CHECKING:
    from ..runtime.state import State

#: lstrlib's MAX_FORMAT: a spec ('%' + flags/digits + conversion) must stay
#: below MAX_FORMAT - 10 characters.
MAX_FORMAT = 32
#: Formats kept per runtime.
CACHE_SIZE = 256
#: Bytes a parsed spec costs in the cache (a ``Spec`` and its strings).
SPEC_COST = 256

#: getformat spans these: flags, digits and the precision point.
_SPAN = frozenset("-+#0 123456789.")
#: Flags each conversion accepts (L_FMTFLAGS*).
FLAGS_FLOAT = "-+#0 "
FLAGS_HEX = "-#0"
FLAGS_INT = "-+0 "
FLAGS_UNSIGNED = "-0"
FLAGS_CHAR = "-"

_CONVERSIONS = frozenset("cdiuoxXaAfeEgGpqs")


class Spec:
    """One conversion: ``form`` is its text ('%-5.2f'); ``shape_error`` the
    message checkformat would raise (or None); flags/width/precision parsed."""

    __slots__ = ("conv", "form", "fatal", "shape_error", "flags", "width", "precision",
                 "pyform")

    def __init__(self, conv, form, fatal=None):
        self.conv = conv
        self.form = form
        self.fatal = fatal
        self.shape_error = None
        self.flags = ""
        self.width = 0
        self.precision = None
        #: A Python %-format giving exactly C's output, when there is one.
        self.pyform = None


def _check_shape(spec: Spec, allowed: str, precision_ok: bool) -> None:
    """lstrlib's ``checkformat``, also parsing flags, width and precision."""
    form = spec.form
    i = 1
    n = len(form)
    while i < n and form[i] in allowed:
        i += 1
    spec.flags = form[1:i]
    if form[i] != "0":
        start = i
        while i < n and i - start < 2 and form[i].isdigit():
            i += 1
        spec.width = int(form[start:i]) if i > start else 0
        if form[i] == "." and precision_ok:
            i += 1
            start = i
            while i < n and i - start < 2 and form[i].isdigit():
                i += 1
            spec.precision = int(form[start:i]) if i > start else 0
    if not form[i].isalpha():
        spec.shape_error = f"invalid conversion specification: '{form}'"


_SHAPES = {
    "c": (FLAGS_CHAR, False), "d": (FLAGS_INT, True), "i": (FLAGS_INT, True),
    "u": (FLAGS_UNSIGNED, True), "o": (FLAGS_HEX, True), "x": (FLAGS_HEX, True),
    "X": (FLAGS_HEX, True), "a": (FLAGS_FLOAT, True), "A": (FLAGS_FLOAT, True),
    "f": (FLAGS_FLOAT, True), "e": (FLAGS_FLOAT, True), "E": (FLAGS_FLOAT, True),
    "g": (FLAGS_FLOAT, True), "G": (FLAGS_FLOAT, True), "p": (FLAGS_CHAR, False),
    "s": (FLAGS_CHAR, True),
}


def parse_format(fmt: str) -> list:
    """Literal strings and ``Spec`` objects, in order."""
    parts = []
    literal = []
    i = 0
    n = len(fmt)
    while i < n:
        j = fmt.find("%", i)
        if j < 0:
            literal.append(fmt[i:])
            break
        literal.append(fmt[i:j])
        i = j + 1
        if i < n and fmt[i] == "%":
            literal.append("%")
            i += 1
            continue
        if literal:
            parts.append("".join(literal))
            literal = []
        k = i
        while k < n and fmt[k] in _SPAN:
            k += 1
        length = k - i + 1
        if length >= MAX_FORMAT - 10:
            parts.append(Spec("", "", "invalid format (too long)"))
            break
        conv = fmt[k] if k < n else ""
        # C stops the form at a NUL, like the end of the format.
        form = "%" + fmt[i:k] + (conv if conv != "\0" else "")
        i = k + 1
        if conv not in _CONVERSIONS or conv == "":
            parts.append(Spec(conv, form, f"invalid conversion '{form}' to 'format'"))
            break
        spec = Spec(conv, form)
        if conv == "q":
            if len(form) > 2:
                spec.fatal = "specifier '%q' cannot have modifiers"
        elif conv != "s" or len(form) > 2:
            allowed, precision_ok = _SHAPES[conv]
            _check_shape(spec, allowed, precision_ok)
            if spec.shape_error is None:
                spec.pyform = _python_form(spec)
        parts.append(spec)
    if literal:
        parts.append("".join(literal))
    return parts


# ------------------------------------------------------------ C printf


def _python_form(spec: Spec):
    """Python's ``%`` agrees with C for decimal integers without precision
    (Python's ``%.3d`` ignores the '0' flag differently) and for finite
    e/f/g floats; everything else goes through the C emulation below."""
    if spec.conv in "di" and spec.precision is None:
        return spec.form
    if spec.conv in "feEgG":
        return spec.form
    return None



def _pad(body: str, spec: Spec, zero_ok: bool, prefix_len: int = 0) -> str:
    """Apply width: left-justify with '-', zero-fill after sign/prefix with
    '0' (when allowed), else right-justify with spaces."""
    width = spec.width
    if len(body) >= width:
        return body
    flags = spec.flags
    if "-" in flags:
        return body + " " * (width - len(body))
    if zero_ok and "0" in flags:
        return body[:prefix_len] + "0" * (width - len(body)) + body[prefix_len:]
    return " " * (width - len(body)) + body


def format_int(spec: Spec, n: int) -> str:
    conv = spec.conv
    flags = spec.flags
    sign = ""
    if conv in "di":
        if n < 0:
            sign = "-"
            n = -n
        elif "+" in flags:
            sign = "+"
        elif " " in flags:
            sign = " "
    else:
        n &= 0xFFFFFFFFFFFFFFFF
    if conv == "o":
        digits = "%o" % n
    elif conv == "x":
        digits = "%x" % n
    elif conv == "X":
        digits = "%X" % n
    else:
        digits = str(n)
    precision = spec.precision
    if precision is not None:
        if precision == 0 and n == 0:
            digits = ""
        elif len(digits) < precision:
            digits = "0" * (precision - len(digits)) + digits
    prefix = sign
    if "#" in flags:
        if conv == "o" and not digits.startswith("0"):
            digits = "0" + digits
        elif conv in "xX" and n != 0:
            prefix += "0" + conv
    return _pad(prefix + digits, spec, precision is None, len(prefix))


def _nonfinite(spec: Spec, x: float, upper: bool) -> str:
    if x != x:
        # lua5.4 on x86-64 Linux: 0/0 is a negative NaN and glibc shows it.
        text = "-nan" if math.copysign(1.0, x) < 0 else "nan"
        if text == "nan" and "+" in spec.flags:
            text = "+nan"
        elif text == "nan" and " " in spec.flags:
            text = " nan"
    else:
        text = "inf" if x > 0 else "-inf"
        if x > 0 and "+" in spec.flags:
            text = "+inf"
        elif x > 0 and " " in spec.flags:
            text = " inf"
    if upper:
        text = text.upper()
    return _pad(text, spec, False)


def format_float(spec: Spec, x: float) -> str:
    conv = spec.conv
    if x != x or x in (math.inf, -math.inf):
        return _nonfinite(spec, x, conv.isupper())
    if conv in "aA":
        return format_hex_float(spec, x)
    form = "%" + spec.flags + (str(spec.width) if spec.width else "")
    if spec.precision is not None:
        form += "." + str(spec.precision)
    return (form + conv) % x


def _hex_parts(x: float):
    """(sign, leading digit, 52-bit fraction, binary exponent) as glibc's %a
    sees them: normal numbers lead with 1, subnormals with 0 at p-1022."""
    text = float.hex(x)  # '-0x1.8000000000000p+1' or '0x0.0000000000001p-1022'
    sign = "-" if text[0] == "-" else ""
    body = text.lstrip("-")[2:]
    mantissa, _, exponent = body.partition("p")
    lead, _, fraction = mantissa.partition(".")
    fraction = (fraction + "0" * 13)[:13]
    return sign, int(lead), int(fraction, 16), int(exponent)


def format_hex_float(spec: Spec, x: float, upper: bool | None = None) -> str:
    if upper is None:
        upper = spec.conv == "A"
    sign, lead, fraction, exponent = _hex_parts(x)
    if x == 0:
        exponent = 0
    precision = spec.precision
    if precision is None:
        digits = ("%013x" % fraction).rstrip("0")
    else:
        if precision < 13:
            drop = 4 * (13 - precision)
            whole = (lead << 52) | fraction
            quotient, remainder = divmod(whole, 1 << drop)
            half = 1 << (drop - 1)
            if remainder > half or (remainder == half and quotient & 1):
                quotient += 1
            lead = quotient >> (4 * precision)
            fraction = quotient & ((1 << (4 * precision)) - 1)
            digits = ("%0*x" % (precision, fraction)) if precision else ""
        else:
            digits = "%013x" % fraction + "0" * (precision - 13)
    flags = spec.flags
    if not sign:
        if "+" in flags:
            sign = "+"
        elif " " in flags:
            sign = " "
    point = "." if (digits or "#" in flags) else ""
    body = f"{sign}0x{lead:x}{point}{digits}p{exponent:+d}"
    if upper:
        body = body.upper()
    return _pad(body, spec, True, len(sign) + 2)


# ----------------------------------------------------------------- %q


_QUOTE_SPECIALS = re.compile('["\\\\\n\x00-\x1f\x7f]')
#: Escapes made between two charges, and what one costs until the join
#: (up to four bytes, a piece and its list slot).
_QUOTE_BATCH = 256
_ESCAPE_COST = 72


def quote_string(st: State, s: str) -> str:
    """``%q`` of a string: plain stretches are copied in C, only the bytes
    needing an escape are handled in Python, charged a batch at a time."""
    ops.charge_string(st, len(s) + 2)
    out = ['"']
    kept = 0
    escapes = 0
    for m in _QUOTE_SPECIALS.finditer(s):
        i = m.start()
        if i > kept:
            out.append(s[kept:i])
        ch = s[i]
        if ch == '"' or ch == "\\" or ch == "\n":
            out.append("\\" + ch)
        elif "0" <= s[i + 1:i + 2] <= "9" and i + 1 < len(s):
            out.append("\\%03d" % ord(ch))
        else:
            out.append("\\%d" % ord(ch))
        kept = i + 1
        escapes += 1
        if not escapes % _QUOTE_BATCH:
            st.charge(_QUOTE_BATCH)
            st.charge_memory(_QUOTE_BATCH * _ESCAPE_COST)
    out.append(s[kept:])
    out.append('"')
    return "".join(out)


_QUOTE_HEX = Spec("a", "%a")


def quote_literal(st: State, args, n: int) -> str:
    value = args[n - 1]
    t = type(value)
    if t is str:
        return quote_string(st, value)
    if t is int:
        return "0x8000000000000000" if value == MININT else str(value)
    if t is float:
        if value == math.inf:
            return "1e9999"
        if value == -math.inf:
            return "-1e9999"
        if value != value:
            return "(0/0)"
        return format_hex_float(_QUOTE_HEX, value, False)
    if value is None or t is bool:
        return tostring_basic(value)
    arg_error(n, "format", "value has no literal form")


# ------------------------------------------------------------- format


#: LUAI_MAXSHORTLEN: lua5.4 interns strings up to this length.
MAX_SHORT_STRING = 40


def pointer_of(value) -> str:
    """``%p``: ``lua_topointer`` as text.

    Strings and collectable objects have an address (tables and functions
    shown as ``tostring`` shows them); other values give NULL.  lua5.4
    interns short strings, so equal ones share an address: theirs is
    derived from the content, which is all that identifies them here.
    """
    if type(value) is str:
        if len(value) <= MAX_SHORT_STRING:
            return "0x%014x" % (hash(value) & 0xFFFFFFFFFFFFFF)
        return address_of(value)
    if type(value) in (Table, Function, Userdata) or isinstance(value, Coroutine):
        return address_of(value)
    return "(null)"


# ------------------------------------------------------- the fast path

#: ``_ARG_TYPES[n](args)``: the exact types of ``args[1:n+1]`` (exact, so a
#: boolean is not taken for an integer); the caller checks there are n.
_ARG_TYPES = (
    lambda a: (),
    lambda a: (type(a[1]),),
    lambda a: (type(a[1]), type(a[2])),
    lambda a: (type(a[1]), type(a[2]), type(a[3])),
    lambda a: (type(a[1]), type(a[2]), type(a[3]), type(a[4])),
    lambda a: (type(a[1]), type(a[2]), type(a[3]), type(a[4]), type(a[5])),
    lambda a: (type(a[1]), type(a[2]), type(a[3]), type(a[4]), type(a[5]), type(a[6])),
)


def fast_plan(parts: list):
    """A whole format as one Python ``%`` format, when every spec is a plain
    ``%s`` (of a string), a ``pyform`` integer spec (of an integer) or a
    ``pyform`` float spec (of a finite float): then Python's output is C's,
    no check can fail and no metamethod runs.  ``format_`` takes it only
    when the arguments have exactly those types; anything else (other
    types, missing arguments, a non-finite float) takes the general loop,
    which also raises every error in lstrlib's order.

    A tuple (the hot path unpacks it at once): the Python format, the
    argument types, ``_ARG_TYPES`` for their number, the positions in
    ``args`` holding floats, the number of arguments and the steps the
    general loop charges for the format.  None if there is no such plan.
    """
    form = []
    types = []
    floats = []
    for part in parts:
        if type(part) is str:
            form.append(part.replace("%", "%%"))
            continue
        if part.fatal is not None or part.shape_error is not None:
            return None
        conv = part.conv
        if conv == "s" and len(part.form) == 2:
            form.append("%s")
            types.append(str)
        elif part.pyform is not None and conv in "di":
            form.append(part.pyform)
            types.append(int)
        elif part.pyform is not None and conv in "feEgG":
            form.append(part.pyform)
            types.append(float)
            floats.append(len(types))
        else:
            return None
    count = len(types)
    if count >= len(_ARG_TYPES):
        return None
    return ("".join(form), tuple(types), _ARG_TYPES[count], tuple(floats), count,
            1 + (len(parts) >> 3))


def make_format(st: State):
    cache: dict = {}
    #: format -> its ``fast_plan`` or None (an entry of ``cache`` has one).
    plans: dict = {}
    steps_cell = st.steps_cell

    def format_(*args):
        fmt = args[0] if args and type(args[0]) is str else check_str(args, 1, "format")
        plan = plans.get(fmt)
        if plan is not None:
            form, types, arg_types, floats, count, steps = plan
            if len(args) > count and arg_types(args) == types:
                for i in floats:
                    x = args[i]
                    if x - x != 0.0:  # inf or nan: C's spelling, not Python's
                        break
                else:
                    text = form % args[1:count + 1]
                    # The general loop's charges, inlined (``st.charge_memory``
                    # and ``st.charge``).
                    left = st.memory_left - len(text)
                    st.memory_left = left
                    if left < 0:
                        st.charge_memory(0)
                    left = steps_cell.cell_contents - steps
                    steps_cell.cell_contents = left
                    if left < 0:
                        st.budget_check()
                    return (text,)
        parts = cache.get(fmt)
        if parts is None:
            if len(cache) >= CACHE_SIZE:
                cache.clear()
                plans.clear()
            # Parsing walks each spec in Python and the cache keeps them.
            specs = fmt.count("%")
            st.charge(1 + specs + len(fmt) // ops.BYTES_PER_STEP)
            st.charge_memory(ops.STRING_COST + len(fmt) + SPEC_COST * specs)
            parts = parse_format(fmt)
            cache[fmt] = parts
            plans[fmt] = fast_plan(parts)
        top = len(args)
        arg = 1
        out = []
        size = 0
        for part in parts:
            if type(part) is str:
                out.append(part)
                size += len(part)
                continue
            arg += 1
            if arg > top:
                arg_error(arg, "format", "no value")
            if part.fatal is not None:
                raise LuaError(part.fatal)
            conv = part.conv
            if conv == "s":
                text = args[arg - 1]
                if type(text) is not str:
                    text = ops.tostring(st, text)
                if len(part.form) > 2:
                    if "\0" in text:
                        arg_error(arg, "format", "string contains zeros")
                    if part.shape_error:
                        raise LuaError(part.shape_error)
                    if part.precision is not None:
                        text = text[:part.precision]
                    if part.precision is not None or len(text) < 100:
                        text = _pad(text, part, False)
            elif conv in "diuoxX":
                n = args[arg - 1]
                if type(n) is not int:
                    n = check_int(args, arg, "format")
                if part.shape_error:
                    raise LuaError(part.shape_error)
                text = part.pyform % n if part.pyform else format_int(part, n)
            elif conv in "feEgG":
                x = args[arg - 1]
                if type(x) is not float:
                    x = float(check_num(args, arg, "format"))
                if part.shape_error:
                    raise LuaError(part.shape_error)
                if part.pyform and x - x == 0.0:  # finite
                    text = part.pyform % x
                else:
                    text = format_float(part, x)
            elif conv == "q":
                text = quote_literal(st, args, arg)
            elif conv == "c":
                if part.shape_error:
                    raise LuaError(part.shape_error)
                text = _pad(chr(check_int(args, arg, "format") & 0xFF), part, False)
            elif conv in "aA":
                if part.shape_error:
                    raise LuaError(part.shape_error)
                text = format_float(part, float(check_num(args, arg, "format")))
            else:  # 'p'
                if part.shape_error:
                    raise LuaError(part.shape_error)
                text = _pad(pointer_of(args[arg - 1]), part, False)
            out.append(text)
            size += len(text)
            if size > 4096:
                st.charge_memory(size)
                size = 0
        st.charge_memory(size)
        st.charge(1 + (len(out) >> 3))
        return ("".join(out),)

    return format_
