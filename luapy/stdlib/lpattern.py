"""Lua 5.4 pattern matching (manual §6.4.1), faithful to lstrlib.c.

Two engines share one front door, ``Pattern``:

* ``Matcher`` is a transcription of lstrlib's backtracking ``match``: the
  same recursion structure (so the same ``MAXCCALLS`` = 200 depth limit and
  "pattern too complex"), the same lazily raised errors (an ill-formed item
  is only diagnosed when matching reaches it), iterative where lstrlib uses
  ``goto init``.  It charges the step budget as it goes, so a pathological
  pattern ends in ``LuaLimitError`` instead of running for hours.

* A translation to Python ``re`` for a subset where the two are provably
  the same: patterns made only of single-character items (with any
  quantifier), captures and a final ``$``, that are well formed and can
  neither hit the depth limit nor raise.  Both engines are leftmost
  backtracking matchers with identical alternative orders (greedy ``*``/
  ``+``/``?`` try longer first, ``-`` tries shorter first) and Lua captures
  cannot be quantified, so results are identical.  Because ``re`` cannot be
  interrupted, it is used only when the worst-case number of backtracking
  paths, times the pattern's length, for the subject length at hand is
  small (``RE_MAX_COST``), and only for short patterns (``RE_MAX_ITEMS``:
  ``re.compile`` is slow and uninterruptible too); the rest goes through
  ``Matcher``.

A pattern that can only match one fixed string (``literal_text``: plain
characters and escapes) needs neither: ``strlib`` searches and replaces it
with ``str.find``/``str.replace``, which are linear in the subject.

Every piece of work is charged to the runtime's budgets in proportion to
its size: preparing a pattern (``PatternCache.get``), each item the matcher
decodes, each run it scans, each back-reference it compares and each
capture it copies.

``Matcher`` avoids Python-level work that cannot change the outcome: it
skips backtracking attempts that would fail on a required literal byte, and
start positions whose byte the pattern's first item cannot match are found
with a one-class regex scan instead of one ``match`` call each.
"""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING

from ..errors import LuaError
from ..runtime.ops import BYTES_PER_STEP, STRING_COST, charge_work

if TYPE_CHECKING:
    from ..runtime.state import State

CAP_UNFINISHED = -1
CAP_POSITION = -2
#: lstrlib's MAXCCALLS: how deep ``match`` may recurse.
MAXCCALLS = 200
#: LUA_MAXCAPTURES.
MAXCAPTURES = 32
#: Characters that make ``find`` use patterns instead of a plain search.
SPECIALS = frozenset("^$*+?.([%-")
#: Worst-case work we let ``re`` do in one call: backtracking paths times
#: pattern items (each path may test every item).  It cannot be
#: interrupted; at about a nanosecond a unit this bounds one call to well
#: under 0.1 s (measured: 'a*b' over 2,000 'a's takes 5 ms; 2,000 '%a'
#: items over 20,000 bytes took 0.55 s before items were counted).
RE_MAX_COST = 20_000_000
#: Calls whose bound exceeds this look at the clock when they return, so a
#: loop of expensive calls cannot outrun the time budget.
RE_CHEAP_COST = 100_000
#: Longest pattern (in items) translated to ``re``: compiling takes tens of
#: microseconds per item, in one uninterruptible call.
RE_MAX_ITEMS = 256
#: Bytes charged for a prepared pattern, on top of a few per source byte
#: (the compiled regex and the pattern's bookkeeping).
PATTERN_COST = 512
#: Bytes charged for one decoded pattern item (a tuple in ``items``); a
#: bracket class adds the size of its member set.
ITEM_COST = 128
#: Bytes ``match_balance`` walks between two looks at the budgets.
BALANCE_CHUNK = 4096
#: Compiled patterns kept per runtime.
CACHE_SIZE = 256

_ALL = frozenset(chr(c) for c in range(256))


def _c_class(test) -> frozenset:
    return frozenset(chr(c) for c in range(256) if test(c))


# The <ctype.h> classes in the C locale.
_ALPHA = _c_class(lambda c: 65 <= c <= 90 or 97 <= c <= 122)
_DIGIT = _c_class(lambda c: 48 <= c <= 57)
_LOWER = _c_class(lambda c: 97 <= c <= 122)
_UPPER = _c_class(lambda c: 65 <= c <= 90)
_CNTRL = _c_class(lambda c: c < 32 or c == 127)
_GRAPH = _c_class(lambda c: 33 <= c <= 126)
_SPACE = _c_class(lambda c: 9 <= c <= 13 or c == 32)
_ALNUM = _ALPHA | _DIGIT
_PUNCT = _GRAPH - _ALNUM
_XDIGIT = _DIGIT | _c_class(lambda c: 65 <= c <= 70 or 97 <= c <= 102)

#: ``%x`` -> the bytes it matches (lstrlib's ``match_class``), for all 256
#: possible class letters: unknown letters match themselves.
CLASS_MEMBERS: dict = {}
for _code in range(256):
    _ch = chr(_code)
    CLASS_MEMBERS[_ch] = frozenset(_ch)
for _letter, _members in {
    "a": _ALPHA, "c": _CNTRL, "d": _DIGIT, "g": _GRAPH, "l": _LOWER,
    "p": _PUNCT, "s": _SPACE, "u": _UPPER, "w": _ALNUM, "x": _XDIGIT,
    "z": frozenset("\0"),
}.items():
    CLASS_MEMBERS[_letter] = _members
    CLASS_MEMBERS[_letter.upper()] = _ALL - _members


# ---------------------------------------------------------------- parsing


def class_end(pat: str, p: int) -> int:
    """lstrlib's ``classend``: index just past the single-char class at p."""
    plen = len(pat)
    ch = pat[p]
    p += 1
    if ch == "%":
        if p >= plen:
            raise LuaError("malformed pattern (ends with '%')")
        return p + 1
    if ch == "[":
        if p < plen and pat[p] == "^":
            p += 1
        while True:  # look for a ']'; the first character is never it
            if p >= plen:
                raise LuaError("malformed pattern (missing ']')")
            c = pat[p]
            p += 1
            if c == "%" and p < plen:
                p += 1  # skip escapes (e.g. '%]')
            if p < plen and pat[p] == "]":
                return p + 1
    return p


def bracket_members(pat: str, p: int, ec: int) -> frozenset:
    """The bytes ``[...]`` matches; p is at '[' and ec at the closing ']'."""
    members = set()
    negated = pat[p + 1] == "^"
    if negated:
        p += 1
    p += 1
    while p < ec:
        ch = pat[p]
        if ch == "%":
            p += 1
            members |= CLASS_MEMBERS[pat[p]]
        elif pat[p + 1] == "-" and p + 2 < ec:
            members.update(chr(c) for c in range(ord(ch), ord(pat[p + 2]) + 1))
            p += 2
        else:
            members.add(ch)
        p += 1
    return _ALL - members if negated else frozenset(members)


def single_members(pat: str, p: int, ep: int):
    """What the single-char class pat[p:ep] matches; None means any byte."""
    ch = pat[p]
    if ch == ".":
        return None
    if ch == "%":
        return CLASS_MEMBERS[pat[p + 1]]
    if ch == "[":
        return bracket_members(pat, p, ep - 1)
    return frozenset(ch)


# ---------------------------------------------------------------- matcher


class Matcher:
    """One matching session over ``src`` (lstrlib's ``MatchState``).

    Positions are 0-based indices; ``-1`` plays the part of C's NULL.
    """

    __slots__ = ("src", "slen", "pat", "plen", "level", "cap_init", "cap_len",
                 "depth", "st", "items")

    def __init__(self, st: State, src: str, pattern: "Pattern"):
        self.st = st
        self.src = src
        self.slen = len(src)
        self.pat = pattern.body
        self.plen = len(pattern.body)
        self.items = pattern.items
        self.level = 0
        self.cap_init = [0] * MAXCAPTURES
        self.cap_len = [0] * MAXCAPTURES
        self.depth = MAXCCALLS

    def reset(self) -> None:
        """``reprepstate``: before each match attempt."""
        self.level = 0
        self.depth = MAXCCALLS

    def _item(self, p: int):
        """(end of class, members, quantifier char or '') for the item at p."""
        item = self.items.get(p)
        if item is None:
            pat = self.pat
            ep = class_end(pat, p)
            members = single_members(pat, p, ep)
            self.st.charge_memory(ITEM_COST + (sys.getsizeof(members) if pat[p] == "[" else 0))
            item = (ep, members, pat[ep] if ep < self.plen else "")
            self.items[p] = item
        return item

    def match(self, s: int, p: int) -> int:
        if self.depth == 0:
            raise LuaError("pattern too complex")
        self.depth -= 1
        st = self.st
        src = self.src
        slen = self.slen
        pat = self.pat
        plen = self.plen
        while True:
            st.charge(1)
            if p == plen:
                break
            ch = pat[p]
            if ch == "(":
                if p + 1 < plen and pat[p + 1] == ")":
                    s = self.start_capture(s, p + 2, CAP_POSITION)
                else:
                    s = self.start_capture(s, p + 1, CAP_UNFINISHED)
                break
            if ch == ")":
                s = self.end_capture(s, p + 1)
                break
            if ch == "$" and p + 1 == plen:
                if s != slen:
                    s = -1
                break
            if ch == "%" and p + 1 < plen:
                nxt = pat[p + 1]
                if nxt == "b":
                    s = self.match_balance(s, p + 2)
                    if s != -1:
                        p += 4
                        continue
                    break
                if nxt == "f":
                    p += 2
                    if p >= plen or pat[p] != "[":
                        raise LuaError("missing '[' after '%f' in pattern")
                    ep, members, _ = self._item(p)
                    previous = src[s - 1] if s > 0 else "\0"
                    current = src[s] if s < slen else "\0"
                    if previous not in members and current in members:
                        p = ep
                        continue
                    s = -1
                    break
                if "0" <= nxt <= "9":
                    s = self.match_capture(s, nxt)
                    if s != -1:
                        p += 2
                        continue
                    break
            # default: a single-char class, maybe quantified
            ep, members, quant = self._item(p)
            if s < slen and (members is None or src[s] in members):
                if quant == "?":
                    result = self.match(s + 1, ep + 1)
                    if result != -1:
                        s = result
                        break
                    p = ep + 1
                    continue
                if quant == "+":
                    s = self.max_expand(s + 1, ep, members)
                elif quant == "*":
                    s = self.max_expand(s, ep, members)
                elif quant == "-":
                    s = self.min_expand(s, ep, members)
                else:
                    s += 1
                    p = ep
                    continue
                break
            if quant == "*" or quant == "?" or quant == "-":
                p = ep + 1  # accept zero repetitions
                continue
            s = -1
            break
        self.depth += 1
        return s

    def _literal_after(self, p: int):
        """The byte the item at p must start with, when it is a plain
        character that cannot match empty; else None.  Lets the expand loops
        skip attempts that would fail on their first step."""
        pat = self.pat
        plen = self.plen
        if p >= plen:
            return None
        ch = pat[p]
        if ch in SPECIALS or ch == ")" or ch == "]":
            return None
        if p + 1 < plen and pat[p + 1] in "*?-":
            return None
        return ch

    def max_expand(self, s: int, ep: int, members) -> int:
        src = self.src
        slen = self.slen
        st = self.st
        if members is None:
            i = slen
        else:
            i = run_scanner(st, members)(src, s).end()
            charge_work(st, i - s)
        rest = ep + 1
        literal = self._literal_after(rest)
        while i >= s:
            # Skipping is exact: 'match' would fail at once, and it cannot
            # raise "pattern too complex" while depth is left.
            if literal is not None and self.depth > 0 and (i >= slen or src[i] != literal):
                i -= 1
                st.charge(1)
                continue
            result = self.match(i, rest)
            if result != -1:
                return result
            i -= 1
        return -1

    def min_expand(self, s: int, ep: int, members) -> int:
        src = self.src
        slen = self.slen
        st = self.st
        rest = ep + 1
        literal = self._literal_after(rest)
        while True:
            if literal is not None and self.depth > 0 and (s >= slen or src[s] != literal):
                st.charge(1)
            else:
                result = self.match(s, rest)
                if result != -1:
                    return result
            if s < slen and (members is None or src[s] in members):
                s += 1
            else:
                return -1

    def start_capture(self, s: int, p: int, what: int) -> int:
        level = self.level
        if level >= MAXCAPTURES:
            raise LuaError("too many captures")
        self.cap_init[level] = s
        self.cap_len[level] = what
        self.level = level + 1
        result = self.match(s, p)
        if result == -1:
            self.level -= 1  # undo capture
        return result

    def end_capture(self, s: int, p: int) -> int:
        level = self.level - 1
        cap_len = self.cap_len
        while level >= 0 and cap_len[level] != CAP_UNFINISHED:
            level -= 1
        if level < 0:
            raise LuaError("invalid pattern capture")
        cap_len[level] = s - self.cap_init[level]
        result = self.match(s, p)
        if result == -1:
            cap_len[level] = CAP_UNFINISHED  # undo capture
        return result

    def match_balance(self, s: int, p: int) -> int:
        if p >= self.plen - 1:
            raise LuaError("malformed pattern (missing arguments to '%b')")
        src = self.src
        slen = self.slen
        if s >= slen or src[s] != self.pat[p]:
            return -1
        opening = self.pat[p]
        closing = self.pat[p + 1]
        depth = 1
        s += 1
        st = self.st
        # A byte-by-byte Python walk: charged a chunk at a time, before the
        # chunk, so a long subject still looks at the clock as it goes.
        while s < slen:
            stop = min(s + BALANCE_CHUNK, slen)
            st.charge(stop - s)
            while s < stop:
                c = src[s]
                if c == closing:
                    depth -= 1
                    if depth == 0:
                        return s + 1
                elif c == opening:
                    depth += 1
                s += 1
        return -1

    def match_capture(self, s: int, digit: str) -> int:
        index = ord(digit) - ord("1")
        if index < 0 or index >= self.level or self.cap_len[index] == CAP_UNFINISHED:
            raise LuaError(f"invalid capture index %{index + 1}")
        length = self.cap_len[index]
        if length == CAP_POSITION or self.slen - s < length:
            return -1  # C compares against the length as a huge size_t
        start = self.cap_init[index]
        charge_work(self.st, 2 * length)  # a copy and a compare
        if self.src.startswith(self.src[start:start + length], s):
            return s + length
        return -1

    # -- results --------------------------------------------------------

    def capture(self, i: int, s: int, e: int):
        """lstrlib's ``get_onecapture`` as a Lua value."""
        if i >= self.level:
            if i != 0:
                raise LuaError(f"invalid capture index %{i + 1}")
            self.st.charge_memory(STRING_COST + e - s)
            return self.src[s:e]
        length = self.cap_len[i]
        init = self.cap_init[i]
        if length == CAP_UNFINISHED:
            raise LuaError("unfinished capture")
        if length == CAP_POSITION:
            return init + 1
        self.st.charge_memory(STRING_COST + length)
        return self.src[init:init + length]

    def captures(self, s: int, e: int, whole: bool = True) -> tuple:
        """``push_captures``: all captures, or the whole match if none
        (``whole`` false gives no values instead, as ``find`` wants)."""
        n = 1 if (self.level == 0 and whole) else self.level
        return tuple([self.capture(i, s, e) for i in range(n)])


# ------------------------------------------------------ translation to re


def _regex_class(members) -> str:
    if members is None or members == _ALL:
        return r"[\x00-\xff]"
    codes = sorted(ord(c) for c in members)
    if len(codes) == 1:
        return "\\x%02x" % codes[0]
    parts = []
    i = 0
    while i < len(codes):
        j = i
        while j + 1 < len(codes) and codes[j + 1] == codes[j] + 1:
            j += 1
        if j == i:
            parts.append("\\x%02x" % codes[i])
        else:
            parts.append("\\x%02x-\\x%02x" % (codes[i], codes[j]))
        i = j + 1
    if not parts:
        return r"[^\x00-\xff]"
    return "[" + "".join(parts) + "]"


_RE_QUANT = {"": "", "*": "*", "+": "+", "-": "*?", "?": "?"}


def _translate(body: str):
    """A Python regex equivalent to the Lua pattern ``body`` (anchor removed),
    or None when the pattern is outside the provably identical subset.

    Returns (regex source, position-capture group numbers, number of
    captures, variable-length items, optional items).
    """
    out = []
    plen = len(body)
    p = 0
    open_count = 0
    captures = 0
    positions = []
    variable = 0
    optional = 0
    recursing = 0  # items that make lstrlib's match recurse
    consumes = False  # some item must match at least one byte
    while p < plen:
        if len(out) > RE_MAX_ITEMS:
            return None
        ch = body[p]
        if ch == "(":
            captures += 1
            recursing += 1
            if p + 1 < plen and body[p + 1] == ")":
                positions.append(captures)
                out.append("()")
                p += 2
                continue
            open_count += 1
            out.append("(")
            p += 1
            continue
        if ch == ")":
            if open_count == 0:
                return None
            open_count -= 1
            recursing += 1
            out.append(")")
            p += 1
            continue
        if ch == "$" and p + 1 == plen:
            out.append(r"\Z")
            break
        if ch == "%" and p + 1 < plen and (body[p + 1] in "bf" or "0" <= body[p + 1] <= "9"):
            return None
        try:
            ep = class_end(body, p)
        except LuaError:
            return None
        members = single_members(body, p, ep)
        quant = body[ep] if ep < plen and body[ep] in "*+-?" else ""
        if quant == "" or quant == "+":
            consumes = True
        if quant:
            recursing += 1
            if quant == "?":
                optional += 1
            else:
                variable += 1
        out.append(_regex_class(members) + _RE_QUANT[quant])
        p = ep + 1 if quant else ep
    if (open_count or captures > MAXCAPTURES or recursing >= MAXCCALLS - 20
            or len(out) > RE_MAX_ITEMS):
        return None
    return "".join(out), tuple(positions), captures, variable, optional, consumes, len(out)


# ------------------------------------------------------------- patterns


#: Characters that are not a literal item on their own wherever they stand
#: (some are literal in some places, e.g. '$' inside a pattern; those
#: patterns are simply not recognised as literal).
_NOT_LITERAL = frozenset("^$*+?.([%-)]")


def literal_text(body: str):
    """The one string the (unanchored) pattern ``body`` matches, when it is
    a run of plain characters and ``%x`` escapes of non-alphanumeric x with
    no quantifiers, captures or anchors; else None (also for '').  A
    quantifier character opening the pattern quantifies nothing: it is a
    plain character there."""
    out = []
    p = 0
    n = len(body)
    while p < n:
        ch = body[p]
        if ch == "%":
            if p + 1 == n or body[p + 1] in _ALNUM:
                return None  # malformed, a class, %b, %f or a back-reference
            ch = body[p + 1]
            p += 2
        elif ch in _NOT_LITERAL and not (p == 0 and ch in "*+?-"):
            return None  # a quantifier (after an item) ends up here too
        else:
            p += 1
        out.append(ch)
    return "".join(out) or None


class Pattern:
    """A pattern prepared for repeated use (cached per runtime)."""

    __slots__ = ("body", "anchored", "items", "regex", "positions", "ncaptures",
                 "re_max_len", "re_cheap_len", "plain", "nonempty", "first_scan",
                 "literal")

    def __init__(self, source: str, honour_anchor: bool):
        #: No special characters: ``find`` may search for it literally.
        self.plain = not has_specials(source)
        #: The regex never matches the empty string (so ``re.subn`` handles
        #: gsub exactly: Lua's and Python's empty-match rules never apply).
        self.nonempty = False
        self.anchored = honour_anchor and source.startswith("^")
        self.body = source[1:] if self.anchored else source
        #: The fixed text every match is (no captures), for plain string
        #: searches; None if the pattern is not that simple or is anchored.
        self.literal = None if self.anchored else literal_text(self.body)
        #: pattern position -> (class end, members, quantifier), filled lazily
        #: so that ill-formed items raise only when matching reaches them.
        self.items: dict = {}
        self.regex = None
        self.positions = ()
        self.ncaptures = 0
        self.re_max_len = -1
        self.re_cheap_len = -1
        #: A regex finding the next position where a match could start, so
        #: the matcher is not entered at positions that fail on their first
        #: byte (None: try every position).
        self.first_scan = None
        if not self.anchored:
            first = _first_members(self.body)
            if first is not None and first != _ALL:
                self.first_scan = re.compile(_regex_class(first))
        translated = _translate(self.body)
        if translated is not None:
            source_re, positions, ncaptures, variable, optional, consumes, items = translated
            try:
                self.regex = re.compile(source_re)
            except (re.error, RecursionError, OverflowError):
                self.regex = None
            if self.regex is not None:
                self.positions = positions
                self.ncaptures = ncaptures
                self.nonempty = consumes
                # Each backtracking path may test every item once.
                exponent = variable + (0 if self.anchored else 1)
                self.re_max_len = _max_safe_length(exponent, optional, RE_MAX_COST // (items + 1))
                self.re_cheap_len = _max_safe_length(exponent, optional, RE_CHEAP_COST // (items + 1))

    def use_regex(self, subject_len: int) -> bool:
        return subject_len <= self.re_max_len


def _first_members(body: str):
    """The bytes a match must start with (before the subject's end), or None
    if that is not simply known.  Only patterns whose first consuming item
    fails at once on another byte qualify; and never one whose first steps
    could raise (too many captures, ill-formed item), since skipping an
    attempt must not skip an error."""
    n = len(body)
    p = 0
    opens = 0
    while p < n and body[p] == "(":
        p += 2 if p + 1 < n and body[p + 1] == ")" else 1
        opens += 1
    if opens >= MAXCAPTURES or p >= n:
        return None
    ch = body[p]
    if ch == ")" or (ch == "$" and p + 1 == n):
        return None
    if ch == "%" and p + 1 < n:
        nxt = body[p + 1]
        if nxt == "b":
            return frozenset(body[p + 2]) if p + 2 < n - 1 else None
        if nxt == "f":
            q = p + 2
            if q >= n or body[q] != "[":
                return None
            try:
                ep = class_end(body, q)
            except LuaError:
                return None
            return bracket_members(body, q, ep - 1)
        if "0" <= nxt <= "9":
            return None
    try:
        ep = class_end(body, p)
    except LuaError:
        return None
    if ep < n and body[ep] in "*?-":
        return None
    return single_members(body, p, ep)


def _max_safe_length(exponent: int, optional: int, cost: int) -> int:
    """Largest subject length n with (n+1)**exponent * 2**optional within
    ``cost``: a bound on the paths a backtracking search explores."""
    budget = cost >> optional if optional < 62 else 0
    if budget < 1:
        return -1
    if exponent == 0:
        return 1 << 62
    n = int(budget ** (1.0 / exponent))
    while n >= 0 and (n + 1) ** exponent > budget:
        n -= 1
    return n


class PatternCache:
    """Per-runtime cache of prepared patterns (bounded, never shared).

    Preparing a pattern walks it in Python and may compile a regex, so a
    miss is charged a step per pattern byte and the memory it keeps."""

    __slots__ = ("anchoring", "literal", "st")

    def __init__(self, st: State):
        self.st = st
        #: Patterns where a leading '^' anchors (find, match, gsub) ...
        self.anchoring: dict = {}
        #: ... and where it is an ordinary character (gmatch).
        self.literal: dict = {}

    def get(self, source: str, honour_anchor: bool = True) -> Pattern:
        entries = self.anchoring if honour_anchor else self.literal
        pattern = entries.get(source)
        if pattern is None:
            if len(entries) >= CACHE_SIZE:
                entries.clear()
            self.st.charge(1 + len(source))
            self.st.charge_memory(PATTERN_COST + 4 * len(source))
            pattern = Pattern(source, honour_anchor)
            entries[source] = pattern
        return pattern


def regex_captures(st: State, pattern: Pattern, m, whole: bool = True) -> tuple:
    """The Lua capture values of a regex match, charged as they are copied."""
    # Every capture lies inside the whole match; nested ones overlap, and
    # each is its own copy.  (The charge is inlined: this is a hot path.)
    start, end = m.span()
    left = st.memory_left - (pattern.ncaptures or 1) * (STRING_COST + end - start)
    st.memory_left = left
    if left < 0:
        st.charge_memory(0)
    if pattern.ncaptures == 0:
        return (m.group(),) if whole else ()
    if not pattern.positions:
        return m.groups()
    values = list(m.groups())
    for group in pattern.positions:
        values[group - 1] = m.start(group) + 1
    return tuple(values)


def has_specials(text: str) -> bool:
    return not SPECIALS.isdisjoint(text)


#: members -> compiled ``[class]*``: the run ``max_expand`` would walk byte
#: by byte, found by one C-level match instead.
_RUN_SCANNERS: dict = {}


def run_scanner(st: State, members: frozenset):
    """The ``match`` method of a regex matching the longest run of
    ``members`` (compiled once per class; a compile is charged)."""
    scanner = _RUN_SCANNERS.get(members)
    if scanner is None:
        if len(_RUN_SCANNERS) >= CACHE_SIZE:
            _RUN_SCANNERS.clear()
        st.charge(BYTES_PER_STEP)
        scanner = _RUN_SCANNERS[members] = re.compile(_regex_class(members) + "*").match
    return scanner
