"""The ``string`` library (manual §6.4) and the string metatable.

Semantics follow lstrlib.c of Lua 5.4 (index clipping, error texts, the
gsub/gmatch treatment of empty matches); pattern matching lives in
``lpattern``, ``string.format`` in ``strformat`` and ``pack``/``unpack`` in
``strpack``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import binchunk
from ..errors import LuaError
from ..runtime import ops
from ..runtime.ops import BYTES_PER_STEP, STRING_COST, charge_string
from ..runtime.args import (
    arg_error, check_int, check_str, opt_int, opt_str, register, type_error,
)
from ..runtime.values import Function, Table, Userdata, number_to_str, type_name
from . import strformat, strpack
from .lpattern import CACHE_SIZE, PATTERN_COST, Matcher, PatternCache, regex_captures

if TYPE_CHECKING:
    from ..runtime.state import State

#: lstrlib's MAXSIZE for results (INT_MAX on every real platform).
MAXSIZE = 0x7FFFFFFF
#: Lua's stack limit (LUAI_MAXSTACK): how many values one call may return.
MAX_RESULTS = 1_000_000
#: Longest subject ``gsub`` hands to one ``re.subn``: it expands every
#: match in C, uninterruptibly, so a long subject with many matches takes
#: the matching loop instead, which charges and checks per match.
SUBN_MAX_LENGTH = 1 << 16
#: Bytes charged per gsub match, besides the matched text: the pieces of
#: the result held until the join (a str header and a list slot or two).
MATCH_COST = 64

_UPPER_TABLE = {c: c - 32 for c in range(97, 123)}
_LOWER_TABLE = {c: c + 32 for c in range(65, 91)}


def posrelat_start(pos: int, length: int) -> int:
    """lstrlib's ``posrelatI``: a 1-based start clipped to [1, inf)."""
    if pos > 0:
        return pos
    if pos == 0 or pos < -length:
        return 1
    return length + pos + 1


def end_position(pos: int, length: int) -> int:
    """lstrlib's ``getendpos``: a 1-based end clipped to [0, length]."""
    if pos > length:
        return length
    if pos >= 0:
        return pos
    if pos < -length:
        return 0
    return length + pos + 1


class StringLibrary:
    """The ``string`` functions of one runtime.

    Each public method is a builtin (``register`` stores the bound method,
    so a call costs no more than a closure's); ``st`` is the runtime they
    charge and call back into.
    """

    __slots__ = ("st", "patterns", "searchers", "gsubs")

    def __init__(self, st: State):
        self.st = st
        self.patterns = PatternCache(st)
        #: pattern -> ``_searcher`` closure, for match (False), find (True)
        #: and plain find (2).
        self.searchers = ({}, {}, {})
        #: (pattern, replacement string) -> ``_replacer`` closure, or None.
        self.gsubs: dict = {}

    def len_(self, *args):
        return (len(check_str(args, 1, "len")),)

    def sub(self, *args):
        st = self.st
        s = check_str(args, 1, "sub")
        length = len(s)
        start = posrelat_start(check_int(args, 2, "sub"), length)
        end = end_position(opt_int(args, 3, "sub", -1), length)
        if start > end:
            return ("",)
        if end - start + 1 < length:  # the whole string is not copied
            charge_string(st, end - start + 1)
        return (s[start - 1:end],)

    def upper(self, *args):
        st = self.st
        s = check_str(args, 1, "upper")
        charge_string(st, len(s))
        return (s.translate(_UPPER_TABLE),)

    def lower(self, *args):
        st = self.st
        s = check_str(args, 1, "lower")
        charge_string(st, len(s))
        return (s.translate(_LOWER_TABLE),)

    def reverse(self, *args):
        st = self.st
        s = check_str(args, 1, "reverse")
        charge_string(st, len(s))
        return (s[::-1],)

    def rep(self, *args):
        st = self.st
        s = check_str(args, 1, "rep")
        n = check_int(args, 2, "rep")
        sep = opt_str(args, 3, "rep", "")
        if n <= 0:
            return ("",)
        unit = len(s) + len(sep)
        if unit > MAXSIZE // n:
            raise LuaError("resulting string too large")
        total = n * len(s) + (n - 1) * len(sep)
        charge_string(st, total)
        if sep:
            return ((s + sep) * (n - 1) + s,)
        return (s * n,)

    def byte(self, *args):
        st = self.st
        s = check_str(args, 1, "byte")
        length = len(s)
        first = opt_int(args, 2, "byte", 1)
        start = posrelat_start(first, length)
        end = end_position(opt_int(args, 3, "byte", first), length)
        if start > end:
            return ()
        count = end - start + 1
        if count >= MAXSIZE:
            raise LuaError("string slice too long")
        if count >= MAX_RESULTS:
            raise LuaError("stack overflow (string slice too long)")
        # a tuple slot per byte (small ints are shared), plus the slice
        st.charge_memory(count * 16)
        charge_string(st, count)
        return tuple(s[start - 1:end].encode("latin-1"))

    def char(self, *args):
        st = self.st
        charge_string(st, len(args))
        st.charge(len(args))  # a Python loop, a step per argument
        codes = []
        for i in range(1, len(args) + 1):
            c = check_int(args, i, "char")
            if not 0 <= c <= 255:
                arg_error(i, "char", "value out of range")
            codes.append(c)
        return (bytes(codes).decode("latin-1"),)

    def dump(self, *args):
        if len(args) < 1 or type(args[0]) is not Function:
            type_error(args, 1, "dump", "function")
        try:
            chunk = binchunk.dump(args[0], ops.truthy(args[1] if len(args) > 1 else None))
        except binchunk.NotDumpable:
            raise LuaError("unable to dump given function") from None
        charge_string(self.st, len(chunk))
        return (chunk,)

    # -- pattern matching -------------------------------------------------

    def find_aux(self, args, find: bool, fname: str):
        st = self.st
        nargs = len(args)
        # the common case first: two strings and no init
        if nargs >= 2 and type(args[0]) is str and type(args[1]) is str:
            s, p = args[0], args[1]
        else:
            s = check_str(args, 1, fname)
            p = check_str(args, 2, fname)
        length = len(s)
        if nargs >= 3:
            init = posrelat_start(opt_int(args, 3, fname, 1), length) - 1
            if init > length:
                return (None,)
        else:
            init = 0
        pattern = None
        if find and nargs >= 4 and args[3] is not None and args[3] is not False:
            search = self.searchers[2].get(p)
            if search is None:
                search = self._remember(self.searchers[2], p, _plain_searcher(st, p, True))
        else:
            searchers = self.searchers[find]
            search = searchers.get(p)
            if search is None:
                pattern = self.patterns.get(p)
                search = _searcher(st, pattern, find)
                if search is not None:
                    self._remember(searchers, p, search)
        if search is not None:
            result = search(s, init)
            if result is not None:
                return result
        if pattern is None:
            pattern = self.patterns.get(p)
        matcher = Matcher(st, s, pattern)
        scan = pattern.first_scan
        start = init
        while True:
            if scan is not None and start < length:
                m = scan.search(s, start)
                start = m.start() if m is not None else length
            matcher.reset()
            end = matcher.match(start, 0)
            if end != -1:
                if find:
                    return (start + 1, end) + matcher.captures(start, end, False)
                return matcher.captures(start, end)
            start += 1
            if start > length or pattern.anchored:
                return (None,)

    def _remember(self, cache: dict, key, entry):
        """Keep ``entry`` (a closure over a prepared pattern) in ``cache``,
        charged and bounded as the pattern cache is."""
        if len(cache) >= CACHE_SIZE:
            cache.clear()
        self.st.charge_memory(PATTERN_COST)
        cache[key] = entry
        return entry

    def _search_method(find: bool, fname: str):  # noqa: N805 (builds methods)
        """``find`` or ``match``: with two string arguments (the common call)
        they go straight to the searcher cached for the pattern; anything
        else, or a subject the searcher declines, takes ``find_aux``."""

        def method(self, *args):
            if len(args) == 2:
                search = self.searchers[find].get(args[1])
                if search is not None and type(args[0]) is str:
                    result = search(args[0], 0)
                    if result is not None:
                        return result
            return self.find_aux(args, find, fname)

        # A code object of its own: errors name a builtin by finding the
        # function whose code raised (``args.py``), so find and match must
        # not share one.
        method.__code__ = method.__code__.replace(co_name=fname)
        method.__name__ = method.__qualname__ = fname
        return method

    find = _search_method(True, "find")
    match = _search_method(False, "match")
    del _search_method

    def gmatch(self, *args):
        st = self.st
        s = check_str(args, 1, "gmatch")
        p = check_str(args, 2, "gmatch")
        length = len(s)
        init = posrelat_start(opt_int(args, 3, "gmatch", 1), length) - 1
        if init > length:
            init = length + 1
        pattern = self.patterns.get(p, honour_anchor=False)
        state = [init, -1]  # next start, end of the last match

        if pattern.use_regex(length):
            regex = pattern.regex

            def step(*_):
                src, last = state
                while src <= length:
                    m = regex.search(s, src)
                    st.charge(1 + (((m.end() if m is not None else length) - src) >> 4))
                    if length > pattern.re_cheap_len:
                        st.budget_check()
                    if m is None:
                        break
                    if m.end() == last:  # empty match right where the last ended
                        src = m.start() + 1
                        continue
                    state[0] = state[1] = m.end()
                    return regex_captures(st, pattern, m)
                state[0] = length + 1
                return (None,)
        else:
            matcher = Matcher(st, s, pattern)
            scan = pattern.first_scan

            def step(*_):
                src, last = state
                while src <= length:
                    if scan is not None and src < length:
                        m = scan.search(s, src)
                        src = m.start() if m is not None else length
                    matcher.reset()
                    end = matcher.match(src, 0)
                    if end != -1 and end != last:
                        state[0] = state[1] = end
                        return matcher.captures(src, end)
                    src += 1
                state[0] = length + 1
                return (None,)

        # Its upvalues, as lua5.4's C closure has them: the subject, the
        # pattern and the match state.
        return (Function(step, "gmatch_aux", upvals=([s], [p], [Userdata(state)])),)

    def gsub(self, *args):
        if len(args) == 3:  # the common call: the cached replacer, if any
            replace = self.gsubs.get((args[1], args[2]))
            if replace is not None and type(args[0]) is str:
                src = args[0]
                result = replace(src, len(src) + 1)
                if result is not None:
                    return result
        work = self._gsub_start(args)
        if type(work) is tuple:
            return work
        add = work.add
        matches = work.matches
        try:
            for whole, captures in matches:
                add(whole, captures)
        except BaseException:
            # Closed now, while the stack is shallow: a suspended scanner
            # left for the cyclic collector (the error's traceback holds
            # it) is closed whenever a collection happens to run, and
            # CPython's close walks every running generator.  Under a deep
            # coroutine stack (cstack.lua) that cost minutes.
            matches.close()
            raise
        return work.result()

    def _gsub_start(self, args):
        """The result at once (a tuple), or the ``_Replacement`` whose
        ``matches`` the caller replaces one by one."""
        st = self.st
        src, p, repl, max_n = _gsub_arguments(args)
        pattern = self.patterns.get(p)
        if type(repl) is str:
            key = (p, repl)
            replace = self.gsubs.get(key, False)
            if replace is False:
                replace = _replacer(st, pattern, repl)
                self._remember(self.gsubs, key, replace)
            if replace is not None:
                result = replace(src, max_n)
                if result is not None:
                    return result
        replacement = _Replacement(st, repl, src)
        st.charge(1 + (len(src) >> 4))
        scan = _gsub_by_regex if pattern.use_regex(len(src)) else _gsub_by_matcher
        replacement.matches = scan(st, pattern, src, max_n, replacement)
        return replacement


# -- find and match ---------------------------------------------------------
#
# A searcher does find's or match's work for one pattern: ``search(s,
# init)`` gives the results, or None when only the backtracking matcher may
# handle that subject (the caller then runs it).  Searches are charged for
# the stretch of subject they scanned, so a loop walking a long string with
# ``init`` is charged linearly.  ``st.charge`` and ``st.charge_memory`` are
# inlined: these are the library's hottest paths.


def _plain_searcher(st: State, text: str, find: bool):
    """A search for the fixed string ``text`` (find: its position; match: the
    text, which is then the whole match)."""
    cell = st.steps_cell
    size = len(text)

    def search(s: str, init: int):
        start = s.find(text, init)
        left = cell.cell_contents - 1 - (((start if start >= 0 else len(s)) - init) >> 6)
        cell.cell_contents = left
        if left < 0:
            st.budget_check()
        if start < 0:
            return (None,)
        if find:
            return (start + 1, start + size)
        st.charge_memory(STRING_COST + size)
        return (text,)

    return search


def _searcher(st: State, pattern, find: bool):
    """The searcher of a prepared pattern (None if it needs the matcher)."""
    text = pattern.body if find and pattern.plain else pattern.literal
    if text is not None:
        return _plain_searcher(st, text, find)
    regex = pattern.regex
    if regex is None:
        return None
    cell = st.steps_cell
    finder = regex.match if pattern.anchored else regex.search
    max_len = pattern.re_max_len
    cheap_len = pattern.re_cheap_len
    ncaptures = pattern.ncaptures
    positions = pattern.positions
    # The strings returned, each a copy of (at most) the whole match: the
    # captures, or for match without captures the match itself.
    copies = ncaptures if find else ncaptures or 1

    def search(s: str, init: int):
        length = len(s)
        if length > max_len:
            return None
        m = finder(s, init)
        start, end = m.span() if m is not None else (length, length)
        left = cell.cell_contents - 1 - ((end - init) >> 4)
        cell.cell_contents = left
        if left < 0 or length > cheap_len:
            st.budget_check()  # an expensive search also looks at the clock
        if m is None:
            return (None,)
        if positions:
            if find:
                return (start + 1, end) + regex_captures(st, pattern, m, False)
            return regex_captures(st, pattern, m)
        left = st.memory_left - copies * (STRING_COST + end - start)
        st.memory_left = left
        if left < 0:
            st.charge_memory(0)
        if find:
            return (start + 1, end) + m.groups()
        return m.groups() if ncaptures else (m.group(),)

    return search


def open_library(st: State) -> Table:
    """Build the ``string`` table for ``st`` and make it the string metatable's ``__index``."""
    strings = StringLibrary(st)
    lib = Table()
    for name, func in [
        ("byte", strings.byte), ("char", strings.char), ("dump", strings.dump),
        ("find", strings.find), ("gmatch", strings.gmatch), ("gsub", strings.gsub),
        ("len", strings.len_), ("lower", strings.lower), ("match", strings.match),
        ("rep", strings.rep), ("reverse", strings.reverse), ("sub", strings.sub),
        ("upper", strings.upper),
    ]:
        register(lib, name, func)
    register(lib, "format", strformat.make_format(st))
    for name, func in strpack.make_functions(st).items():
        register(lib, name, func)

    meta = Table()
    _add_arith_metamethods(st, meta)
    meta.set("__index", lib)
    st.string_meta = meta
    return lib


# -- gsub ------------------------------------------------------------------


def _gsub_arguments(args: tuple):
    """gsub's ``(subject, pattern, replacement, max_n)``, checked as lstrlib does."""
    nargs = len(args)
    if nargs >= 2 and type(args[0]) is str and type(args[1]) is str:
        src, p = args[0], args[1]
    else:
        src = check_str(args, 1, "gsub")
        p = check_str(args, 2, "gsub")
    length = len(src)
    max_n = opt_int(args, 4, "gsub", length + 1) if nargs >= 4 else length + 1
    repl = args[2] if nargs >= 3 else None
    rtype = type(repl)
    if rtype is int or rtype is float:
        repl = number_to_str(repl)
    elif rtype is not str and rtype is not Table and rtype is not Function:
        type_error(args, 3, "gsub", "string/function/table")
    return src, p, repl, max_n


class _Replacement:
    """lstrlib's ``add_value``: the pieces of gsub's result, and whether any
    match was actually replaced (a false/nil replacement keeps the match).

    ``matches`` is the scanner (``_gsub_by_regex`` or ``_gsub_by_matcher``):
    it yields each match for the caller to ``add``, and leaves ``count``
    and ``kept`` when done.  (No generator form: as in lua5.4, a yield in
    the replacement function fails, "attempt to yield across a C-call
    boundary".)"""

    __slots__ = ("st", "repl", "src", "template", "out", "changed", "matches", "count", "kept")

    def __init__(self, st: State, repl, src: str):
        self.st = st
        self.repl = repl
        self.src = src
        self.template = _parse_template(repl) if type(repl) is str else None
        self.out: list = []
        self.changed = False
        self.matches = None
        self.count = self.kept = 0

    def result(self) -> tuple:
        """gsub's results, once every match is replaced."""
        src = self.src
        if not self.changed:
            return (src, self.count)
        out = self.out
        out.append(src[self.kept:])
        size = 0
        for piece in out:
            size += len(piece)
        charge_string(self.st, size)
        return ("".join(out), self.count)

    def add(self, whole: str, captures) -> None:
        """Append the replacement of the match ``whole``; ``captures(i)`` gives
        capture ``i`` (0-based) and ``captures(None)`` all of them."""
        st, out, template = self.st, self.out, self.template
        if template is not None:
            # a list slot per part; the text itself is charged at the join
            st.charge(len(template))
            st.charge_memory(8 * len(template))
            for part in template:
                if type(part) is str:
                    out.append(part)
                elif part == 0:
                    out.append(whole)
                elif part < 0:
                    raise LuaError("invalid use of '%' in replacement string")
                else:
                    value = captures(part - 1)
                    out.append(value if type(value) is str else number_to_str(value))
            self.changed = True
            return
        repl = self.repl
        if type(repl) is Table:
            value = ops.index(st, repl, captures(0))
        else:
            results = ops.call(st, repl, captures(None))
            value = results[0] if results else None
        self.put(whole, value)

    def put(self, whole: str, value) -> None:
        """Append what a replacement table or function gave for ``whole``."""
        out = self.out
        if value is None or value is False:
            out.append(whole)
            return
        vt = type(value)
        if vt is str:
            out.append(value)
        elif vt is int or vt is float:
            out.append(number_to_str(value))
        else:
            raise LuaError(f"invalid replacement value (a {type_name(value)})")
        self.changed = True


# Both scanners copy unmatched text as one slice per stretch (``kept`` marks
# where the pending stretch starts), never a piece per byte, so the pieces
# held before the join stay within a few per match.  Each yields every
# match as ``(whole, captures)`` and leaves ``count`` and ``kept`` in the
# replacement.


def _gsub_by_regex(st: State, pattern, src: str, max_n: int, replacement: _Replacement):
    """The gsub loop over a pattern compiled to a Python regex."""
    out = replacement.out
    length = len(src)
    regex = pattern.regex
    finder = regex.match if pattern.anchored else regex.search
    expensive = length > pattern.re_cheap_len
    count = pos = kept = 0
    last = -1
    while count < max_n:
        m = finder(src, pos)
        if expensive:
            st.budget_check()
        if m is None:
            break
        start, end = m.span()
        if end == last:  # empty match where the previous one ended
            if pos < length:
                pos += 1
                if pattern.anchored:
                    break
                continue
            break
        st.charge(1)
        st.charge_memory(MATCH_COST + end - start)
        count += 1
        if start > kept:
            out.append(src[kept:start])

        def captures(i, m=m):
            values = regex_captures(st, pattern, m)
            if i is None:
                return values
            if i >= len(values):
                if i != 0:
                    raise LuaError(f"invalid capture index %{i + 1}")
                return m.group()
            return values[i]

        yield m.group(), captures
        pos = kept = last = end
        if pattern.anchored:
            break
    replacement.count, replacement.kept = count, kept


def _gsub_by_matcher(st: State, pattern, src: str, max_n: int, replacement: _Replacement):
    """The gsub loop over lpattern's backtracking matcher."""
    out = replacement.out
    length = len(src)
    matcher = Matcher(st, src, pattern)
    scan = None if pattern.anchored else pattern.first_scan
    count = pos = kept = 0
    last = -1
    while count < max_n:
        if scan is not None and pos < length:
            m = scan.search(src, pos)
            pos = m.start() if m is not None else length
        matcher.reset()
        end = matcher.match(pos, 0)
        if end != -1 and end != last:
            count += 1
            start = pos
            st.charge_memory(MATCH_COST + end - start)
            if start > kept:
                out.append(src[kept:start])

            def captures(i, start=start, end=end):
                if i is None:
                    return matcher.captures(start, end)
                return matcher.capture(i, start, end)

            yield src[start:end], captures
            pos = kept = last = end
        elif pos < length:
            pos += 1
        else:
            break
        if pattern.anchored:
            break
    replacement.count, replacement.kept = count, kept


def _python_template(pattern, template: list):
    """The ``re`` template doing what the Lua replacement does, or None when
    it needs lstrlib's own handling (position captures, bad indices)."""
    out = []
    for part in template:
        if type(part) is str:
            out.append(part.replace("\\", "\\\\"))
        elif part == 0 or (part == 1 and pattern.ncaptures == 0):
            out.append(r"\g<0>")
        elif 0 < part <= pattern.ncaptures and part not in pattern.positions:
            out.append(r"\g<%d>" % part)
        else:
            return None
    return "".join(out)


def _replacer(st: State, pattern, repl: str):
    """gsub without the matching loop, for a replacement string: a closure
    ``replace(src, max_n)`` giving gsub's results, or None when that
    subject needs the general path; None when the pattern and replacement
    never qualify.

    Only for a pattern that cannot match empty (then Lua's and Python's
    scanning agree) and is not anchored, and a replacement that needs none
    of lstrlib's own handling (position captures, bad indices).  A literal
    pattern (``lpattern.literal_text``) is replaced by ``str.replace``,
    which is linear in the subject; any other goes through ``re.subn`` on
    subjects short enough for its cost bound (``Pattern.re_max_len``).
    """
    if not pattern.nonempty or pattern.anchored:
        return None
    template = _parse_template(repl)
    python = _python_template(pattern, template)
    if python is None:
        return None
    literal = sum(len(part) for part in template if type(part) is str)
    references = len(template) - sum(1 for part in template if type(part) is str)
    cell = st.steps_cell
    old = pattern.literal
    if old is not None:
        # Every reference is %0 or %1, i.e. the match: the text is fixed.
        new = "".join(part if type(part) is str else old for part in template)
        growth = len(new) - len(old)

        def replace(src: str, max_n: int):
            # Charged as a scan of the subject (one C-level count, like a
            # plain find) plus, for a result, ``charge_string`` of it.
            length = len(src)
            count = src.count(old)
            if count > max_n:
                count = max_n
            if count <= 0:
                left = cell.cell_contents - 1 - (length >> 4)
                result = (src, 0)
            else:
                size = length + count * growth
                left = st.memory_left - STRING_COST - size
                st.memory_left = left
                if left < 0:
                    st.charge_memory(0)
                left = cell.cell_contents - 2 - (length >> 4) - size // BYTES_PER_STEP
                result = (src.replace(old, new, count), count)
            cell.cell_contents = left
            if left < 0:
                st.budget_check()
            return result

        return replace
    max_len = min(pattern.re_max_len, SUBN_MAX_LENGTH)
    cheap_len = pattern.re_cheap_len
    subn = pattern.regex.subn

    def replace(src: str, max_n: int):
        length = len(src)
        if length > max_len or max_n <= 0:
            return None
        # Matches are disjoint and non-empty, which bounds the result.
        most = length if length < max_n else max_n
        charge_string(st, length + most * literal + references * length)
        st.charge(1 + (length >> 4))
        result, count = subn(python, src, most)
        if length > cheap_len:
            st.budget_check()
        if count == 0:
            return (src, 0)
        return (result, count)

    return replace


def _parse_template(repl: str) -> list:
    """A gsub replacement string as literal pieces and capture numbers
    (0 = whole match); -1 marks an invalid '%' (raised when reached, as
    lstrlib only fails once it gets there)."""
    parts = []
    i = 0
    n = len(repl)
    while True:
        j = repl.find("%", i)
        if j < 0:
            if i < n:
                parts.append(repl[i:])
            return parts
        if j > i:
            parts.append(repl[i:j])
        c = repl[j + 1] if j + 1 < n else ""
        if c == "%":
            parts.append("%")
        elif "0" <= c <= "9" and c != "":
            parts.append(ord(c) - 48)
        else:
            parts.append(-1)
            return parts
        i = j + 2


_ARITH_EVENTS = [
    ("__add", "+"), ("__sub", "-"), ("__mul", "*"), ("__mod", "%"), ("__pow", "^"),
    ("__div", "/"), ("__idiv", "//"), ("__unm", None),
]


def _add_arith_metamethods(st: State, meta: Table) -> None:
    """lstrlib's string metamethods: arithmetic on numeric strings, and the
    "attempt to add a 'string' with a 'table'" diagnostics otherwise."""

    def make(event: str, op):
        def handler(*args):
            a = args[0] if args else None
            b = args[1] if len(args) > 1 else None
            x, y = ops.tonumber(a), ops.tonumber(b)
            if x is not None and y is not None:
                if op is None:
                    return (ops.unm(x),)
                return (ops.ARITH[op](x, y),)
            # trymt: the second operand's metamethod, unless it is a string
            if type(b) is not str:
                other = ops.metamethod(st, b, event)
                if other is not None:
                    return (ops.call1(st, other, a, b),)
            raise LuaError(f"attempt to {event[2:]} a '{type_name(a)}' with a '{type_name(b)}'")

        return handler

    for event, op in _ARITH_EVENTS:
        meta.set(event, Function(make(event, op), event))
