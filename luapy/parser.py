"""Lua 5.4 source text to a syntax tree (``luapy.ast``).

Three parts:

* **The lexer** (``_token_batches``) follows llex.c: one master regular expression
  finds each token, numerals are read greedily as ``read_numeral`` does,
  strings are decoded with llex.c's escape rules, and every lexical error
  carries lua5.4's exact message.
* **The parse table** comes from Lark's LALR(1) analysis of
  ``grammar/lua.lark``.  The analysis is cached as JSON (plain data: loading
  it runs no code), so a warm start does not even import Lark.
* **The driver** (``_Parser.run``) is a small LALR loop that calls one
  callback per reduction to build the tree bottom-up, with no Python
  recursion, so no input can overflow the interpreter stack.  Alongside each
  value it tracks two measures: the tree height (the compiler recurses over
  the tree, so it is capped at ``MAX_TREE_DEPTH``) and lparser.c's nesting
  level (``enterlevel``: one per statement and per sub-expression), which
  lua5.4 caps at LUAI_MAXCCALLS.

Syntax errors are derived from the unexpected token, the set of tokens the
table would have accepted and the open constructs on the parser stack, so
that they read exactly as lua5.4's recursive-descent parser words them.
"""

from __future__ import annotations

import json
import os
import re
import zlib
from itertools import islice

from . import ast
from .errors import LuaSyntaxError
from .resolve import MAX_LOCALS
from .syntax_errors import SyntaxErrorWording
from .runtime.values import str_to_number

#: The compiler and resolver recurse over the tree; deeper trees are refused.
MAX_TREE_DEPTH = 1000

__all__ = ["parse", "MAX_TREE_DEPTH"]


# ===================================================================== lexer

#: The tokens that open a nesting level while they wait on the parser stack
#: (``_Parser.open_levels``).
_OPENERS = frozenset(("IF", "DO", "REPEAT", "FUNCTION", "LPAR", "LBRACE", "LSQB",
                      "MINUS", "NOT", "TILDE", "HASH"))

_KEYWORDS = {
    word: word.upper()
    for word in ("break do else elseif end false for function goto if in local "
                 "nil not repeat return then true until while").split()
}
_KEYWORDS["and"] = "BINOP"
_KEYWORDS["or"] = "BINOP"

_OPERATORS = {
    "+": "BINOP", "*": "BINOP", "/": "BINOP", "//": "BINOP", "%": "BINOP",
    "^": "BINOP", "..": "BINOP", "==": "BINOP", "~=": "BINOP", "<=": "BINOP",
    ">=": "BINOP", "&": "BINOP", "|": "BINOP", "<<": "BINOP", ">>": "BINOP",
    "-": "MINUS", "~": "TILDE", "<": "LT", ">": "GT", "#": "HASH",
    "=": "ASSIGN", "(": "LPAR", ")": "RPAR", "[": "LSQB", "]": "RSQB",
    "{": "LBRACE", "}": "RBRACE", ";": "SEMI", ":": "COLON", "::": "DBCOLON",
    ",": "COMMA", ".": "DOT", "...": "ELLIPSIS",
}

# Alternatives are tried in order; each names the kind of token it finds.
# The commonest come first: names, and the operators that start no other
# token (``dotop`` has those that do: ``-`` comments, ``[`` long brackets
# and ``.`` numerals).
# Every alternative is a fixed string or one character class repeated, so
# no input makes the regex backtrack: it is linear in the source however
# hostile the text.  Tokens with structure are finished by linear code:
# a string with escapes by ``_Lexer.read_string``, a long bracket by
# ``str.find`` of its closing bracket, a numeral by ``_numeral_value``.
# Blanks before a token are part of its match (possessively: never given
# back), and blanks that end the source match ``end``, so a long run of them
# is read once.
_TOKEN_RE = re.compile(r"""
[ \t\f\v]*+
(?:
  (?P<name>[A-Za-z_][A-Za-z0-9_]*)
| (?P<op>==|~=|<=|>=|<<|>>|//|::|[+*/%^#&~|<>=(){}\];:,])
| (?P<nl>\r\n|\n\r|\n|\r)
| (?P<num>\.?[0-9][0-9a-zA-Z_.]*)
| (?P<lcomment>--\[=*\[)
| (?P<comment>--[^\r\n]*)
| (?P<lstring>\[=*\[)
| (?P<baddelim>\[=+)
| (?P<str>"[^"\\\r\n]*"|'[^'\\\r\n]*')
| (?P<quote>["'])
| (?P<dotop>\.\.\.|\.\.|[-\[.])
| (?P<other>[\s\S])
| (?P<end>\Z)
)
""", re.VERBOSE)

#: A numeral's shape as ``luaO_str2num`` accepts it, written without
#: ambiguity (a run of digits can be split only one way), so that refusing
#: a long malformed numeral is linear too.
_NUMERAL_SHAPE = re.compile(r"""
    0[xX](?:[0-9a-fA-F]+(?:\.[0-9a-fA-F]*)?|\.[0-9a-fA-F]+)(?:[pP][-+]?[0-9]+)?
  | (?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?
""", re.VERBOSE)
#: What llex.c's ``read_numeral`` reads between exponent marks.
_HEX_NUMERAL_RUN = re.compile(r"[0-9a-fA-F.]*").match
_DEC_NUMERAL_RUN = re.compile(r"[0-9a-dfA-DF.]*").match
_LUA_ALPHA = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
#: The plain characters of a short string: everything up to its next
#: quote, backslash or newline.
_STRING_RUN = {'"': re.compile(r'[^"\\\r\n]+'), "'": re.compile(r"[^'\\\r\n]+")}

_NEWLINE_RE = re.compile(r"\r\n|\n\r|\n|\r")
_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
                   "v": "\v", "\\": "\\", '"': '"', "'": "'"}
_HEX_DIGITS = "0123456789abcdefABCDEF"
_LUA_SPACE = " \t\n\r\f\v"


def _count_newlines(text: str) -> int:
    """Lines a stretch of source spans: ``\\r\\n`` and ``\\n\\r`` count once."""
    if "\r" not in text:
        return text.count("\n")
    return len(_NEWLINE_RE.findall(text))


def _normalize_newlines(text: str) -> str:
    return _NEWLINE_RE.sub("\n", text) if "\r" in text else text


def _utf8_escape(code: int) -> str:
    """luaO_utf8esc: UTF-8 with Lua's 5- and 6-byte forms, as latin-1 chars."""
    if code < 0x80:
        return chr(code)
    out = []
    first_max = 0x3F
    while True:
        out.append(0x80 | (code & 0x3F))
        code >>= 6
        first_max >>= 1
        if code <= first_max:
            break
    out.append(((~first_max << 1) & 0xFF) | code)
    return "".join(map(chr, reversed(out)))


class _Lexer:
    """Lexical errors and the slow paths of llex.c, for one source text."""

    def __init__(self, source: str, chunkname: str):
        self.source = source
        self.chunkname = chunkname

    def error(self, line: int, message: str, near: str | None) -> LuaSyntaxError:
        text = f"{self.chunkname}:{line}: {message}"
        if near is not None:
            text += f" near {near}"
        return LuaSyntaxError(text)

    def read_string(self, pos: int, line: int):
        """llex.c's ``read_string`` from the opening quote at ``pos``.

        Returns ``(value, end_pos, end_line)``.  Errors quote the token as far
        as it was read, escapes already decoded, exactly as lua5.4 does.
        """
        src = self.source
        n = len(src)
        delim = src[pos]
        buf = [delim]          # what llex.c's buffer holds, for messages
        i = pos + 1

        def fail(message):
            # esccheck: the offending character joins the quoted text.
            if i < n:
                buf.append(src[i])
            return self.error(line, message, "'" + "".join(buf) + "'")

        plain_run = _STRING_RUN[delim].match
        while True:
            run = plain_run(src, i)
            if run is not None:
                buf.append(run.group())
                i = run.end()
            if i >= n:
                raise self.error(line, "unfinished string", "<eof>")
            c = src[i]
            if c == delim:
                return "".join(buf[1:]), i + 1, line
            if c in "\r\n":
                raise self.error(line, "unfinished string", "'" + "".join(buf) + "'")
            buf.append("\\")   # kept until the escape is decoded
            i += 1
            if i >= n:
                continue        # the next round reports the unfinished string
            c = src[i]
            if c in _SIMPLE_ESCAPES:
                buf[-1] = _SIMPLE_ESCAPES[c]
                i += 1
            elif c in "\r\n":
                pair = src[i:i + 2]
                i += 2 if pair in ("\r\n", "\n\r") else 1
                line += 1
                buf[-1] = "\n"
            elif c == "x":
                buf.append("x")
                i += 1
                value = 0
                for _ in range(2):
                    if i >= n or src[i] not in _HEX_DIGITS:
                        raise fail("hexadecimal digit expected")
                    buf.append(src[i])
                    value = value * 16 + int(src[i], 16)
                    i += 1
                del buf[-4:]
                buf.append(chr(value))
            elif c == "z":
                buf.pop()
                i += 1
                while i < n and src[i] in _LUA_SPACE:
                    if src[i] in "\r\n":
                        pair = src[i:i + 2]
                        i += 2 if pair in ("\r\n", "\n\r") else 1
                        line += 1
                    else:
                        i += 1
            elif c == "u":
                start = len(buf) - 1
                buf.append("u")
                i += 1
                if i >= n or src[i] != "{":
                    raise fail("missing '{'")
                buf.append("{")
                i += 1
                if i >= n or src[i] not in _HEX_DIGITS:
                    raise fail("hexadecimal digit expected")
                code = int(src[i], 16)
                buf.append(src[i])
                i += 1
                while i < n and src[i] in _HEX_DIGITS:
                    if code > (0x7FFFFFFF >> 4):
                        raise fail("UTF-8 value too large")
                    code = code * 16 + int(src[i], 16)
                    buf.append(src[i])
                    i += 1
                if i >= n or src[i] != "}":
                    raise fail("missing '}'")
                i += 1
                del buf[start:]
                buf.append(_utf8_escape(code))
            elif c.isdigit() and c < "\x80":
                value = 0
                digits = 0
                while digits < 3 and i < n and "0" <= src[i] <= "9":
                    value = value * 10 + ord(src[i]) - 48
                    buf.append(src[i])
                    i += 1
                    digits += 1
                if value > 255:
                    raise fail("decimal escape too large")
                del buf[-digits - 1:]
                buf.append(chr(value))
            else:
                raise fail("invalid escape sequence")


def _long_bracket_value(text: str) -> str:
    """The contents of ``[==[...]==]``: the first newline is dropped."""
    level = text.index("[", 1) + 1
    body = text[level:-level]
    if body[:1] in ("\r", "\n"):
        pair = body[:2]
        body = body[2:] if pair in ("\r\n", "\n\r") else body[1:]
    return _normalize_newlines(body)


#: A token is a plain tuple ``(type, value, line, pos)``, read through these
#: names.  (Not a named tuple: making one costs several times a tuple
#: display, in the lexer's hottest line.)
TYPE, VALUE, LINE, POS = range(4)


#: How far the lexer reads ahead of the parser: a batch holds at least
#: this many tokens (unless the source ends) and fewer than twice as many,
#: so that however long a line, the parser (and the budget charges it
#: makes, ``_reporting``) is never far behind.
BATCH_TOKENS = 1024


def _token_batches(source: str, start: int, lexer: _Lexer):
    """Yield lists of ``(type, value, line, pos)`` tuples; the last one ends
    with ``("$END", ...)``, every other with ``("$MORE", ...)``.

    ``line`` is the line where the token ends, which is what lua5.4 reports
    for it.  NUMBER values are converted numbers, STRING values decoded
    strings; operators and keywords carry their own text.  A token that
    linear code finishes (a string with escapes, a long bracket) restarts
    the regex scan after its end.

    A batch is read ahead of the parser, so a lexical error is not raised
    where it is found: it becomes a ``("$ERROR", error, ...)`` token that
    the parser raises when it reaches it, after any syntax error before it.
    """
    line = 1
    operators = _OPERATORS
    keywords = _KEYWORDS
    names: dict = {}            # one string object per distinct name
    pos = start
    out: list = []
    add = out.append
    finished = False
    while not finished:
        try:
            m = None
            # At most a batch of matches at a time (``islice``).
            for m in islice(_TOKEN_RE.finditer(source, pos), BATCH_TOKENS):
                kind = m.lastgroup
                if kind == "name":
                    text = m.group(kind)
                    ttype = keywords.get(text)
                    if ttype is None:
                        add(("NAME", names.setdefault(text, text), line, m.start(kind)))
                    else:
                        add((ttype, text, line, m.start(kind)))
                elif kind == "op" or kind == "dotop":
                    text = m.group(kind)
                    add((operators[text], text, line, m.start(kind)))
                elif kind == "nl":
                    line += 1
                elif kind == "num":
                    # The regex reads a numeral's characters but not the sign
                    # of an exponent, nor where llex.c would stop.  Short
                    # decimal integers, the common case, convert directly.
                    text = m.group(kind)
                    if text.isdigit() and len(text) < 19:
                        add(("NUMBER", int(text), line, m.start(kind)))
                        continue
                    end = m.end()
                    shape = _NUMERAL_SHAPE.fullmatch(text)
                    if shape is None:
                        # An exponent's sign, or a numeral llex.c ends sooner.
                        end = _numeral_end(source, m.start(kind))
                        text = source[m.start(kind):end]
                        shape = _NUMERAL_SHAPE.fullmatch(text)
                    value = str_to_number(text) if shape else None
                    if value is None:
                        raise lexer.error(line, "malformed number", f"'{text}'")
                    add(("NUMBER", value, line, m.start(kind)))
                    if end != m.end():
                        pos = end
                        break
                elif kind == "str":
                    add(("STRING", m.group(kind)[1:-1], line, m.start(kind)))
                elif kind == "comment" or kind == "end":
                    continue
                elif kind == "other":
                    add(("OTHER", m.group(kind), line, m.start(kind)))
                elif kind == "quote":
                    value, pos, end_line = lexer.read_string(m.start(kind), line)
                    add(("STRING", value, end_line, m.start(kind)))
                    line = end_line
                    break
                elif kind == "baddelim":
                    raise lexer.error(line, "invalid long string delimiter", f"'{m.group(kind)}'")
                else:  # lstring / lcomment: find the closing bracket
                    opener = m.group(kind)
                    level = opener.count("=")
                    pos = source.find("]" + "=" * level + "]", m.end())
                    if pos < 0:
                        what = "comment" if kind == "lcomment" else "string"
                        end_line = line + _count_newlines(source[m.start(kind):])
                        raise lexer.error(end_line,
                                          f"unfinished long {what} (starting at line {line})",
                                          "<eof>")
                    pos += level + 2
                    text = source[m.start(kind):pos]
                    line += _count_newlines(text)
                    if kind == "lstring":
                        add(("STRING", _long_bracket_value(text), line, m.start(kind)))
                    break
            else:
                if m.lastgroup == "end":
                    add(("$END", None, line, len(source)))
                    finished = True
                else:
                    pos = m.end()
        except LuaSyntaxError as error:
            add(("$ERROR", error, line, pos))
            finished = True
        if finished or len(out) >= BATCH_TOKENS:
            if not finished:
                add(("$MORE", None, line, pos))
            yield out
            out = []
            add = out.append


def _numeral_end(source: str, pos: int) -> int:
    """Where llex.c's ``read_numeral`` stops reading the numeral at ``pos``:
    digits and dots, exponent marks with their sign, then one touching
    letter (which makes the numeral malformed)."""
    n = len(source)
    i = pos + 1 if source[pos] == "." else pos
    if source.startswith(("0x", "0X"), i):
        i += 2
        run, marks = _HEX_NUMERAL_RUN, "pP"
    else:
        run, marks = _DEC_NUMERAL_RUN, "eE"
    while True:
        i = run(source, i).end()
        if i < n and source[i] in marks:
            i += 1
            if i < n and source[i] in "+-":
                i += 1
            continue
        break
    if i < n and source[i] in _LUA_ALPHA:
        i += 1
    return i


#: ``progress`` hears from the lexer at least every this many tokens or
#: source bytes, and at the end of the source.
PROGRESS_TOKENS = 2048
PROGRESS_BYTES = 16384


def _reporting(batches, progress):
    """``batches`` with ``("$REPORT", nbytes, ...)`` markers, on which the
    parser tells ``progress`` how many source bytes the tokens since the
    last one covered (so that ``load`` can charge parsing as it goes).  A
    marker comes just before the token that completes its stretch."""
    reported = 0
    count = 0
    for batch in batches:
        marked = []
        add = marked.append
        for token in batch:
            ttype = token[0]
            if ttype != "$MORE" and ttype != "$ERROR":
                count += 1
                pos = token[3]
                if count >= PROGRESS_TOKENS or pos - reported >= PROGRESS_BYTES or ttype == "$END":
                    add(("$REPORT", pos - reported, token[2], pos))
                    reported = pos
                    count = 0
            add(token)
        yield marked


def _near(token, source: str) -> str:
    """How lua5.4 quotes a token in ``near ...``."""
    ttype, value, _, pos = token
    if ttype == "$END":
        return "<eof>"
    if ttype == "NUMBER":
        return "'" + source[pos:_numeral_end(source, pos)] + "'"
    if ttype == "STRING":
        if source[pos] in "\"'":
            return "'" + source[pos] + value + source[pos] + "'"
        opener = source[pos:source.index("[", pos + 1) + 1]       # [==[
        return "'" + opener + value + opener.replace("[", "]") + "'"
    if ttype == "OTHER":
        return f"'{value}'" if " " <= value <= "~" else f"'<\\{ord(value)}>'"
    return f"'{value}'"


# ============================================================= parse table

_TABLE_FORMAT = 1


def _grammar_file(package_dir: str | None = None) -> str:
    """``luapy/grammar/lua.lark`` in a wheel, ``<repo>/grammar/lua.lark`` in a checkout."""
    here = os.fspath(package_dir or os.path.dirname(os.path.abspath(__file__)))
    for candidate in (os.path.join(here, "grammar", "lua.lark"),
                      os.path.join(os.path.dirname(here), "grammar", "lua.lark")):
        if os.path.isfile(candidate):
            return candidate
    raise FileNotFoundError("lua.lark not found next to luapy or in the source tree")


def _cache_dir() -> str:
    configured = os.environ.get("LUAPY_CACHE_DIR")
    if configured:
        return configured
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "luapy")


def _analyse(grammar: str) -> dict:
    """Run Lark's LALR(1) analysis; return the table as plain data."""
    import lark
    from lark.lexer import Lexer
    from lark.parsers.lalr_analysis import Shift

    class ExternalLexer(Lexer):
        """Tokens come from ``_token_batches``; Lark only analyses the grammar."""

        def __init__(self, lexer_conf):
            pass

        def lex(self, lexer_state, parser_state):  # pragma: no cover - never used
            raise NotImplementedError

    frontend = lark.Lark(grammar, parser="lalr", lexer=ExternalLexer, start="start")
    table = frontend.parser.parser._parse_table
    rule_index: dict = {}
    rules = []
    states = []
    for state in range(len(table.states)):
        actions = {}
        for symbol, (action, arg) in table.states[state].items():
            if action is Shift:
                actions[symbol] = arg
            else:
                if arg not in rule_index:
                    rule_index[arg] = len(rules)
                    rules.append([arg.origin.name, len(arg.expansion), arg.alias or arg.origin.name])
                actions[symbol] = ~rule_index[arg]
        states.append(actions)
    return {"format": _TABLE_FORMAT, "states": states, "rules": rules,
            "start": table.start_states["start"], "end": table.end_states["start"]}


def _load_table() -> dict:
    """The parse table, from the JSON cache when it matches the grammar.

    The cache holds plain data (loading it runs no code) in the user's own
    cache directory; it is keyed by the grammar text, so editing the
    grammar simply makes a new one.
    """
    with open(_grammar_file(), encoding="utf-8") as f:
        grammar = f.read()
    key = f"{_TABLE_FORMAT}-{len(grammar)}-{zlib.crc32(grammar.encode()):08x}"
    path = None
    try:
        path = os.path.join(_cache_dir(), f"lua-lalr-{key}.json")
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if data.get("format") == _TABLE_FORMAT and data.get("key") == key:
            return data
    except (OSError, ValueError, AttributeError, RuntimeError):
        pass
    data = _analyse(grammar)
    data["key"] = key
    if path is not None:
        import tempfile

        try:  # write atomically; any failure just means no cache
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".lua-lalr-",
                                       suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, separators=(",", ":"))
            os.replace(tmp, path)
        except OSError:
            pass
    return data


class _Table:
    """The parse table in the shape the driver loop wants."""

    def __init__(self, data: dict):
        self.actions = data["states"]
        self.start = data["start"]
        self.end = data["end"]
        self.rules = [(origin, size, alias) for origin, size, alias in data["rules"]]
        #: The states after ``fields COMMA`` or ``fields SEMI`` inside a table
        #: constructor, where the driver's fast path for constant fields runs.
        self.next_field_states = frozenset(
            follow for row in self.actions if "fields" in row
            for separator in ("COMMA", "SEMI")
            if (follow := self.actions[row["fields"]].get(separator)) is not None)
        self._driver_actions = None

    def driver_actions(self) -> list[dict]:
        """The action rows as the driver reads them (made once, not per
        parse: small chunks are common): a shift is the next state, or
        ``~state`` for a NUMBER or STRING that may be a constant field
        (``next_field_states``); a reduction is the rule's ``(kind, size,
        origin, node_inc, level_inc, callback)``, the callback a ``_Parser``
        function."""
        if self._driver_actions is None:
            rules = []
            for origin, size, alias in self.rules:
                if alias in _MEASURED_RULES:
                    kind = _MEASURED
                elif size == 1 and origin != "start":    # the last reduction returns
                    kind = _PASS_THROUGH if alias in _IDENTITY_RULES else _IN_PLACE
                else:
                    kind = _GENERAL
                rules.append((kind, size, origin, alias in _NODE_RULES, alias in _LEVEL_RULES,
                              _CALLBACKS[alias]))
            rows = []
            for state, row in enumerate(self.actions):
                driver_row = {}
                for symbol, action in row.items():
                    if action < 0:
                        action = rules[~action]
                    elif state in self.next_field_states and symbol in ("NUMBER", "STRING"):
                        action = ~action
                    driver_row[symbol] = action
                rows.append(driver_row)
            self._driver_actions = rows
        return self._driver_actions


_table: _Table | None = None


def _get_table() -> _Table:
    global _table
    if _table is None:
        _table = _Table(_load_table())
    return _table


# ================================================================= builder

# lparser.c's priority table: (left, right) binding power of each operator.
_PRIORITY = {
    "+": (10, 10), "-": (10, 10), "*": (11, 11), "%": (11, 11), "^": (14, 13),
    "/": (11, 11), "//": (11, 11), "&": (6, 6), "|": (4, 4), "~": (5, 5),
    "<<": (7, 7), ">>": (7, 7), "..": (9, 8), "==": (3, 3), "<": (3, 3),
    "<=": (3, 3), "~=": (3, 3), ">": (3, 3), ">=": (3, 3), "and": (2, 2), "or": (1, 1),
}
_UNARY_PRIORITY = 12

#: Rules whose value is a syntax-tree node one level above its children.
_NODE_RULES = frozenset("""
    block block_return ret_none ret_values st_expr st_assign st_label st_break st_goto
    st_do st_while st_repeat st_if st_if_else st_for_num st_for_num_step st_for_in
    st_function st_method st_local_function st_local st_local_assign
    e_number e_string e_nil e_true e_false e_vararg e_function e_name e_paren
    e_field e_index e_call e_method_call table_empty table
    field_positional field_named field_keyed attname attname_attrib funcname_field
    funcbody funcbody_noparams
""".split())

#: Rules that are one lparser.c ``enterlevel``: statements and sub-expressions.
_LEVEL_RULES = frozenset("""
    ret_none ret_values st_empty st_expr st_label st_break st_goto st_do st_while
    st_repeat st_if st_if_else st_for_num st_for_num_step st_for_in st_function
    st_method st_local_function st_local st_local_assign exp_single
""".split())

#: Rules whose callback computes the two measures itself.
_MEASURED_RULES = frozenset("exp_ops st_assign targets_add".split())
#: One-child rules whose value is the child itself.
_IDENTITY_RULES = frozenset("unit exp_single".split())

# How the driver reduces a rule (cheapest first).
_PASS_THROUGH, _IN_PLACE, _GENERAL, _MEASURED = range(4)

_KEEP_PARENS = (ast.Call, ast.MethodCall, ast.Vararg, ast.Name, ast.Index)



class _FuncName:
    """``a.b.c`` after ``function``: the assignable target and its dotted text."""

    __slots__ = ("target", "text")

    def __init__(self, target, text):
        self.target = target
        self.text = text


class _Ops:
    """A run of operators and operands: ``items`` holds operand nodes and
    operator tokens in source order; ``heights``/``levels`` measure the
    operands."""

    __slots__ = ("items", "heights", "levels")

    def __init__(self):
        self.items = []
        self.heights = []
        self.levels = []


class _Body:
    __slots__ = ("params", "is_vararg", "block", "lpar_line", "end_line", "size", "text",
                 "close_line")

    def __init__(self, params, is_vararg, block, lpar, end, source: str, close_line: int):
        self.close_line = close_line
        self.params = params
        self.is_vararg = is_vararg
        self.block = block
        self.lpar_line = lpar[2]
        self.end_line = end[2]
        self.size = end[3] - lpar[3]
        self.text = ast.SourceText(source, lpar[3], end[3] + len("end"), lpar[2])


class _Parser(SyntaxErrorWording):
    """One parse: the driver loop and the tree-building callbacks."""

    def __init__(self, source: str, chunkname: str, nesting_limit: int):
        self.source = source
        self.chunkname = chunkname
        # A chunk loaded straight from the host (luaL_loadbuffer) fails in
        # lua5.4 at its 200th level; ``load`` called from Lua code has its own
        # C call counted too, so there real Lua allows one level less.
        self.level_limit = nesting_limit
        self.lexer = _Lexer(source, chunkname)
        self.lookahead = None
        self.heights: list = []
        self.levels: list = []
        self.height = 0        # set by the _MEASURED_RULES callbacks
        self.level = 0
        self.args_line = 0     # see e_call

    # ------------------------------------------------------------ driver

    def run(self, start: int, progress=None):
        """Parse from ``start``; ``progress(nbytes)`` hears how far the
        lexer got, every ``PROGRESS_TOKENS`` tokens (``_reporting``)."""
        table = _get_table()
        actions = table.driver_actions()
        end_state = table.end
        level_limit = self.level_limit
        fast_fields = level_limit > 2
        state = table.start
        states = self.states = [state]
        self.actions = table.actions
        values = self.values = [None]
        heights = self.heights = [0]
        levels = self.levels = [0]
        batches = _token_batches(self.source, start, self.lexer)
        if progress is not None:
            batches = _reporting(batches, progress)
        next_token = iter(next(batches)).__next__
        token = next_token()
        while True:
            ttype = token[0]
            self.lookahead = token
            row = actions[state]
            while True:
                action = row.get(ttype)
                if type(action) is int:
                    break
                if action is None:
                    if ttype[0] == "$" and ttype != "$END":
                        # Not a token: the lexer's marks between two.
                        if ttype == "$MORE":
                            next_token = iter(next(batches)).__next__
                        elif ttype == "$REPORT":
                            progress(token[1])
                        else:
                            raise token[1]      # $ERROR: a lexical error
                        token = next_token()
                        ttype = token[0]
                        self.lookahead = token
                        continue
                    if self.open_levels() >= level_limit:
                        raise self.stack_overflow()
                    raise self.syntax_error(token, states, values)
                kind, size, origin, node_inc, level_inc, callback = action
                if kind <= _IN_PLACE:
                    # One child: its stack slot becomes the parent's.
                    if kind == _IN_PLACE:
                        values[-1] = callback(self, values[-1:])
                    if node_inc:
                        height = heights[-1]
                        if height >= MAX_TREE_DEPTH:
                            raise self.too_complex()
                        heights[-1] = height + 1
                    if level_inc:
                        level = levels[-1] + 1
                        if level >= level_limit:
                            raise self.stack_overflow()
                        levels[-1] = level
                    state = states[-1] = actions[states[-2]][origin]
                    row = actions[state]
                    continue
                if size:
                    value = callback(self, values[-size:])
                    if kind == _MEASURED:
                        height = self.height
                        level = self.level
                    elif size == 2:
                        height = heights[-1]
                        if heights[-2] > height:
                            height = heights[-2]
                        height += node_inc
                        level = levels[-1]
                        if levels[-2] > level:
                            level = levels[-2]
                        level += level_inc
                    else:
                        height = max(heights[-size:]) + node_inc
                        level = max(levels[-size:]) + level_inc
                    del states[-size:], values[-size:], heights[-size:], levels[-size:]
                else:
                    value = callback(self, None)
                    height = node_inc
                    level = level_inc
                if height > MAX_TREE_DEPTH:
                    raise self.too_complex()
                if level >= level_limit:
                    raise self.stack_overflow()
                state = actions[states[-1]][origin]
                if state == end_state:
                    return value
                states.append(state)
                values.append(value)
                heights.append(height)
                levels.append(level)
                row = actions[state]
            following = None
            if action < 0:
                # A NUMBER or STRING after ``fields SEP``: a constant field?
                action = ~action
                if fast_fields:
                    following = next_token()
                    if following[0] == "COMMA" or following[0] == "SEMI":
                        self.constant_field(token, following)
                        state = states[-1]
                        token = next_token()
                        continue
            states.append(action)
            values.append(token)
            heights.append(0)
            levels.append(0)
            state = action
            token = next_token() if following is None else following

    def constant_field(self, token, separator) -> None:
        """``fields SEP`` + a NUMBER or STRING + ``SEP``: the fast path for
        the items of a data table, one at a time in O(1).

        It does what the reductions it skips would do (``e_number`` or
        ``e_string``, ``exp_single``, ``field_positional``, ``fields_add``),
        measures included, and then shifts the separator that follows, so
        that a constructor of a million constants parses in a fraction of
        the time.  (The caller checked the nesting limit allows them.)
        """
        states, values, heights, levels = self.states, self.values, self.heights, self.levels
        node = ast.Number if token[TYPE] == "NUMBER" else ast.String
        line = token[LINE]
        del states[-1], values[-1], heights[-1], levels[-1]           # the previous SEP
        values[-1].append(ast.Field(None, node(token[VALUE], line), line))
        if heights[-1] < 2:             # field -> exp -> NUMBER: two nodes deep
            heights[-1] = 2
        if levels[-1] < 1:              # exp_single is one nesting level
            levels[-1] = 1
        states.append(self.actions[states[-1]][separator[TYPE]])
        values.append(separator)
        heights.append(0)
        levels.append(0)
        self.lookahead = separator

    # ------------------------------------------------------------ errors

    def error(self, line: int, message: str, token=None) -> LuaSyntaxError:
        text = f"{self.chunkname}:{line}: {message}"
        # A NUL byte is token 0, which lexerror takes for "no token".
        if token is not None and token[:2] != ("OTHER", "\0"):
            text += " near " + _near(token, self.source)
        return LuaSyntaxError(text)

    def error_near_lookahead(self, message: str) -> LuaSyntaxError:
        return self.error(self.lookahead[2], message, self.lookahead)

    def too_complex(self) -> LuaSyntaxError:
        return self.error_near_lookahead(
            f"expression too complex (more than {MAX_TREE_DEPTH} levels)")

    def open_levels(self) -> int:
        """How many nesting levels the constructs still open on the stack
        have entered.  lparser.c counts a level as it opens a construct, so
        source that ends inside 500 of them overflows before it is found
        incomplete; the levels measured at reductions can't see those.  One
        token per construct: the ``if``, the ``do`` of a loop or block, an
        open bracket, a unary operator, and in a run of binary operators
        each right-associative one (``..``, ``^``: lparser.c recurses for
        those)."""
        levels = 0
        for value in self.values:
            if type(value) is tuple:
                levels += value[0] in _OPENERS
            elif type(value) is _Ops:   # a run of operators: each pending one
                levels += sum(1 for item in value.items if type(item) is tuple and item[1] in ("..", "^"))
        return levels

    def stack_overflow(self) -> LuaSyntaxError:
        # lua5.4's text (from luaE_checkcstack); lua5.4 gives no position
        # because the error comes from the C stack guard, but a syntax error
        # here always names where it happened.
        return LuaSyntaxError(f"{self.chunkname}:{self.lookahead[2]}: C stack overflow")

    # ------------------------------------------------------- statements

    # start -> block
    def chunk(self, c):
        return c[0]

    # block -> stats
    def block(self, c):
        return ast.Block(c[0], 0, 0)

    # block -> stats retstat
    def block_return(self, c):
        body = c[0]
        body.append(c[1])
        return ast.Block(body, 0, 0)

    # stats -> (empty)
    def stats_new(self, c):
        return []

    # stats -> stats stat
    def stats_add(self, c):
        stats = c[0]
        if c[1] is not None:
            stats.append(c[1])
        return stats

    # retstat -> RETURN
    # retstat -> RETURN SEMI
    def ret_none(self, c):
        return ast.Return([], c[0][LINE])

    # retstat -> RETURN explist
    # retstat -> RETURN explist SEMI
    def ret_values(self, c):
        return_, values = c[0], c[1]
        return ast.Return(values, return_[LINE])

    # stat -> SEMI
    def st_empty(self, c):
        return None

    # stat -> suffixedexp
    def st_expr(self, c):
        expr = c[0]
        if type(expr) is ast.Call or type(expr) is ast.MethodCall:
            return ast.CallStat(expr, expr.line)
        raise self.error_near_lookahead("syntax error")

    # targets -> suffixedexp
    def targets_new(self, c):
        self.check_target(c[0])
        return [c[0]]

    # targets -> targets COMMA suffixedexp
    def targets_add(self, c):
        targets, _, target = c
        self.check_target(target)
        targets.append(target)
        # lparser.c's restassign nests one level per extra target.
        self.height = max(self.heights[-3], self.heights[-1])
        self.level = max(self.levels[-3], len(targets) - 2 + self.levels[-1])
        return targets

    def check_target(self, target):
        if type(target) is not ast.Name and type(target) is not ast.Index:
            raise self.error_near_lookahead("syntax error")

    # stat -> targets ASSIGN explist
    def st_assign(self, c):
        targets, _, values = c
        self.height = 1 + max(self.heights[-3], self.heights[-1])
        self.level = 1 + max(self.levels[-3], len(targets) - 1 + self.levels[-1])
        return ast.Assign(targets, values, targets[0].line)

    # stat -> DBCOLON NAME DBCOLON
    def st_label(self, c):
        opener, name, _ = c
        return ast.Label(name[VALUE], opener[LINE])

    # stat -> BREAK
    def st_break(self, c):
        return ast.Break(c[0][LINE])

    # stat -> GOTO NAME
    def st_goto(self, c):
        goto, name = c
        return ast.Goto(name[VALUE], goto[LINE])

    @staticmethod
    def close_block(block, opener, closer):
        block.line = opener[LINE]
        block.end_line = closer[LINE]
        return block

    # stat -> DO block END
    def st_do(self, c):
        do, block, end = c
        return ast.Do(self.close_block(block, do, end), do[LINE])

    # stat -> WHILE exp DO block END
    def st_while(self, c):
        while_, cond, do, block, end = c
        return ast.While(cond, self.close_block(block, do, end), while_[LINE])

    # stat -> REPEAT block UNTIL exp
    def st_repeat(self, c):
        repeat, block, until, cond = c
        return ast.Repeat(self.close_block(block, repeat, until), cond, repeat[LINE])

    # elseifs -> (empty)
    def elseifs_new(self, c):
        return []

    # elseifs -> elseifs ELSEIF exp THEN block
    def elseifs_add(self, c):
        elseifs, elseif, cond, then, block = c
        elseifs.append([elseif, cond, then, block])
        return elseifs

    def build_if(self, c, orelse_clause):
        """``IF cond THEN block elseifs [ELSE block] END``: each block is
        closed by the token that opens the next clause, the last by END."""
        if_, cond, then, block, elseifs = c[:5]
        end = c[-1]
        clauses = [(if_, cond, then, block)] + elseifs
        closers = [clause[0] for clause in clauses[1:]]
        closers.append(orelse_clause[0] if orelse_clause else end)
        tests = []
        for (_, cond, then, block), closer in zip(clauses, closers):
            tests.append((cond, self.close_block(block, then, closer)))
        orelse = None
        if orelse_clause:
            else_, else_block = orelse_clause
            orelse = self.close_block(else_block, else_, end)
        return ast.If(tests, orelse, if_[LINE])

    # stat -> IF exp THEN block elseifs END
    def st_if(self, c):
        return self.build_if(c, None)

    # stat -> IF exp THEN block elseifs ELSE block END
    def st_if_else(self, c):
        return self.build_if(c, (c[5], c[6]))

    # stat -> FOR NAME ASSIGN exp COMMA exp DO block END
    def st_for_num(self, c):
        for_, name, _, start, _, stop, do, block, end = c
        body = self.close_block(block, do, end)
        return ast.NumericFor(name[VALUE], start, stop, None, body, for_[LINE])

    # stat -> FOR NAME ASSIGN exp COMMA exp COMMA exp DO block END
    def st_for_num_step(self, c):
        for_, name, _, start, _, stop, _, step, do, block, end = c
        body = self.close_block(block, do, end)
        return ast.NumericFor(name[VALUE], start, stop, step, body, for_[LINE])

    # stat -> FOR namelist IN explist DO block END
    def st_for_in(self, c):
        for_, names, _, values, do, block, end = c
        body = self.close_block(block, do, end)
        return ast.GenericFor(names, values, body, for_[LINE])

    # namelist -> NAME
    def names_new(self, c):
        return [c[0][1]]

    # namelist -> namelist COMMA NAME
    def names_add(self, c):
        names, _, name = c
        names.append(name[VALUE])
        return names

    # ------------------------------------------------------- functions

    # funcname -> NAME
    def funcname_new(self, c):
        token = c[0]
        return _FuncName(ast.Name(token[1], token[2]), token[1])

    # funcname -> funcname DOT NAME
    def funcname_field(self, c):
        base, _, name = c
        target = ast.Index(base.target, ast.String(name[1], name[2]), name[2])
        return _FuncName(target, f"{base.text}.{name[1]}")

    # funcbody -> LPAR RPAR block END
    def funcbody_noparams(self, c):
        lpar, _, block, end = c
        return _Body([], False, self.close_block(block, lpar, end), lpar, end, self.source,
                     self.lookahead[LINE])

    # funcbody -> LPAR parlist RPAR block END
    def funcbody(self, c):
        lpar, (params, is_vararg), _, block, end = c
        return _Body(params, is_vararg, self.close_block(block, lpar, end), lpar, end, self.source,
                     self.lookahead[LINE])

    # (Only tokens are tuples on the parser stack: other values use lists.)
    # parlist -> namelist
    def params(self, c):
        return [c[0], False]

    # parlist -> namelist COMMA ELLIPSIS
    def params_vararg(self, c):
        return [c[0], True]

    # parlist -> ELLIPSIS
    def params_only_vararg(self, c):
        return [[], True]

    @staticmethod
    def function(body: _Body, line: int, name, is_method=False):
        params = ["self"] + body.params if is_method else body.params
        return ast.Function(params, body.is_vararg, body.block, line, body.end_line,
                            name, is_method, body.size, body.text, body.close_line)

    # stat -> FUNCTION funcname funcbody
    def st_function(self, c):
        function, name, body = c
        func = self.function(body, function[LINE], name.text)
        return ast.FunctionStat(name.target, func, function[LINE])

    # stat -> FUNCTION funcname COLON NAME funcbody
    def st_method(self, c):
        function, name, _, method, body = c
        target = ast.Index(name.target, ast.String(method[VALUE], method[LINE]), method[LINE])
        func = self.function(body, function[LINE], f"{name.text}:{method[VALUE]}", is_method=True)
        return ast.FunctionStat(target, func, function[LINE])

    # stat -> LOCAL FUNCTION NAME funcbody
    def st_local_function(self, c):
        # lua5.4 dates local and anonymous functions by their '(' line.
        local, _, name, body = c
        func = self.function(body, body.lpar_line, name[VALUE])
        return ast.LocalFunction(name[VALUE], func, local[LINE])

    # simpleexp -> FUNCTION funcbody
    def e_function(self, c):
        body = c[1]
        return self.function(body, body.lpar_line, None)

    # ------------------------------------------------------- locals

    # attname -> NAME
    def attname(self, c):
        return [c[0][1], None]

    # attname -> NAME LT NAME GT
    def attname_attrib(self, c):
        name, _, attrib, _ = c
        attrib = attrib[VALUE]
        if attrib not in ("const", "close"):
            raise self.error(self.lookahead[2], f"unknown attribute '{attrib}'")
        return [name[VALUE], attrib]

    # attnames -> attname
    def attnames_new(self, c):
        return [c[0]]

    # attnames -> attnames COMMA attname
    def attnames_add(self, c):
        names, _, attname = c
        if attname[1] == "close" and any(attrib == "close" for _, attrib in names):
            raise self.error(self.lookahead[LINE], "multiple to-be-closed variables in local list")
        names.append(attname)
        if len(names) > MAX_LOCALS:
            # lparser.c stops at the name past its limit, before the source
            # is complete; the resolver checks the locals of whole scopes.
            raise self.error_near_lookahead(f"too many local variables (limit is {MAX_LOCALS}) in "
                                            f"{self.enclosing_function()}")
        return names

    def enclosing_function(self) -> str:
        """How lparser.c's ``errorlimit`` names the function being parsed."""
        for value in reversed(self.values):
            if type(value) is tuple and value[0] == "FUNCTION":
                return f"function at line {value[LINE]}"
        return "main function"

    # stat -> LOCAL attnames
    def st_local(self, c):
        local, names = c
        return ast.Local([n for n, _ in names], [a for _, a in names], [], local[LINE])

    # stat -> LOCAL attnames ASSIGN explist
    def st_local_assign(self, c):
        local, names, _, values = c
        return ast.Local([n for n, _ in names], [a for _, a in names], values, local[LINE])

    # ------------------------------------------------------- expressions

    # explist -> exp
    def explist_new(self, c):
        return [c[0]]

    # explist -> explist COMMA exp
    def explist_add(self, c):
        values, _, value = c
        values.append(value)
        return values

    # simpleexp -> table
    # simpleexp -> suffixedexp
    def unit(self, c):
        return c[0]

    # exp -> simpleexp
    exp_single = unit

    # ops -> MINUS
    # ops -> NOT
    # ops -> HASH
    # ops -> TILDE
    def ops_unary(self, c):
        ops = _Ops()
        ops.items.append(c[0])
        return ops

    # ops -> simpleexp BINOP
    # ops -> simpleexp MINUS
    # ops -> simpleexp TILDE
    # ops -> simpleexp LT
    # ops -> simpleexp GT
    def ops_binary(self, c):
        ops = _Ops()
        ops.items += c
        ops.heights.append(self.heights[-2])
        ops.levels.append(self.levels[-2])
        return ops

    # ops -> ops MINUS
    # ops -> ops NOT
    # ops -> ops HASH
    # ops -> ops TILDE
    def ops_add_unary(self, c):
        c[0].items.append(c[1])
        return c[0]

    # ops -> ops simpleexp BINOP
    # ops -> ops simpleexp MINUS
    # ops -> ops simpleexp TILDE
    # ops -> ops simpleexp LT
    # ops -> ops simpleexp GT
    def ops_add_binary(self, c):
        ops = c[0]
        ops.items.append(c[1])
        ops.items.append(c[2])
        ops.heights.append(self.heights[-2])
        ops.levels.append(self.levels[-2])
        return ops

    # exp -> ops simpleexp
    def exp_ops(self, c):
        ops = c[0]
        ops.items.append(c[1])
        ops.heights.append(self.heights[-1])
        ops.levels.append(self.levels[-1])
        return self.climb(ops)

    def climb(self, ops: _Ops):
        """lparser.c's ``subexpr`` over a flat run, without recursion.

        Each frame is a suspended ``subexpr`` call: the binding limit it
        runs under and the unary operator or left operand and binary
        operator waiting for their right side.  The frame count is exactly
        lparser.c's nesting depth inside this expression.  Sets
        ``self.height``/``self.level`` to the measures of the result.
        """
        items = ops.items
        heights = ops.heights
        levels = ops.levels
        level_limit = self.level_limit
        if len(items) == 3 and type(items[0]) is not tuple and level_limit > 2:
            # The commonest run, ``a OP b``, as the loop below builds it: a
            # subexpr for ``b`` one level into the one for ``a``.
            left, token, right = items
            height = (heights[0] if heights[0] > heights[1] else heights[1]) + 1
            if height > MAX_TREE_DEPTH:
                raise self.too_complex()
            self.height = height
            self.level = max(1 + levels[0], 2 + levels[1])
            if token[1] == "..":
                return ast.Concat([left, right], token[2])
            return ast.BinOp(token[1], left, right, token[2])
        priority = _PRIORITY
        frames = []
        fresh_concats = []       # Concat nodes of this run, operands reversed
        fresh_ids = set()
        limit = 0
        pos = 0
        operand = 0
        max_level = 0
        count = len(items)
        while True:
            # Enter a subexpr: prefix operators first.
            item = items[pos]
            while type(item) is tuple:
                frames.append((limit, item, None, 0))
                if len(frames) + 1 >= level_limit:
                    raise self.stack_overflow()
                limit = _UNARY_PRIORITY
                pos += 1
                item = items[pos]
            value = item
            height = heights[operand]
            level = len(frames) + 1 + levels[operand]
            if level > max_level:
                max_level = level
            operand += 1
            pos += 1
            # Expand while the next operator binds tighter than the limit.
            while True:
                op = items[pos][1] if pos < count else None
                if op is not None and priority[op][0] > limit:
                    frames.append((limit, items[pos], value, height))
                    if len(frames) + 1 >= level_limit:
                        raise self.stack_overflow()
                    limit = priority[op][1]
                    pos += 1
                    break
                if not frames:
                    for concat in fresh_concats:
                        concat.operands.reverse()
                    self.height = height
                    self.level = max_level
                    return value
                limit, token, left, left_height = frames.pop()
                if left is None:                       # a prefix operator
                    value = ast.UnOp(token[1], value, token[2])
                    height += 1
                elif token[1] == "..":
                    if type(value) is ast.Concat and id(value) in fresh_ids:
                        value.operands.append(left)
                        height = max(height, left_height + 1)
                    else:
                        value = ast.Concat([value, left], token[2])
                        fresh_concats.append(value)
                        fresh_ids.add(id(value))
                        height = max(height, left_height) + 1
                else:
                    value = ast.BinOp(token[1], left, value, token[2])
                    height = max(height, left_height) + 1
                if height > MAX_TREE_DEPTH:
                    raise self.too_complex()

    # simpleexp -> NUMBER
    def e_number(self, c):
        return ast.Number(c[0][1], c[0][2])

    # simpleexp -> STRING
    def e_string(self, c):
        return ast.String(c[0][1], c[0][2])

    # simpleexp -> NIL
    def e_nil(self, c):
        return ast.Nil(c[0][2])

    # simpleexp -> TRUE
    def e_true(self, c):
        return ast.TrueExpr(c[0][2])

    # simpleexp -> FALSE
    def e_false(self, c):
        return ast.FalseExpr(c[0][2])

    # simpleexp -> ELLIPSIS
    def e_vararg(self, c):
        if not self.in_vararg_function():
            raise self.error(c[0][2], "cannot use '...' outside a vararg function", c[0])
        return ast.Vararg(c[0][2])

    def in_vararg_function(self) -> bool:
        """Whether the innermost open function takes ``...``.

        The only ')' tokens left on the parser stack close the parameter
        lists of unfinished function bodies (any other ')' is reduced as
        soon as the next token arrives), so the nearest one tells.
        """
        values = self.values
        for i in range(len(values) - 1, 0, -1):
            value = values[i]
            if type(value) is tuple and value[0] == "RPAR":
                params = values[i - 1]
                return type(params) is list and params[1]
        return True     # the main chunk is vararg

    # suffixedexp -> NAME
    def e_name(self, c):
        return ast.Name(c[0][1], c[0][2])

    # suffixedexp -> LPAR exp RPAR
    def e_paren(self, c):
        inner = c[1]
        line = c[0][2]
        if isinstance(inner, _KEEP_PARENS):
            # Calls and '...' need Paren to truncate to one value, and a
            # parenthesised variable must stay unassignable.
            return ast.Paren(inner, line)
        return inner

    # An index is dated by its key, where lua5.4 emits the access.

    # suffixedexp -> suffixedexp DOT NAME
    def e_field(self, c):
        name = c[2]
        return ast.Index(c[0], ast.String(name[1], name[2]), name[2])

    # suffixedexp -> suffixedexp LSQB exp RSQB
    def e_index(self, c):
        obj, lsqb, key, _ = c
        return ast.Index(obj, key, lsqb[LINE])

    # lua5.4 dates a call by the line where its arguments open (funcargs).
    # The argument list is always reduced just before its call, so the
    # line can wait in ``self.args_line``.

    # suffixedexp -> suffixedexp args
    def e_call(self, c):
        return ast.Call(c[0], c[1], self.args_line)

    # suffixedexp -> suffixedexp COLON NAME args
    def e_method_call(self, c):
        obj, _, name, args = c
        return ast.MethodCall(obj, name[VALUE], args, self.args_line)

    # args -> LPAR RPAR
    def args_none(self, c):
        self.args_line = c[0][2]
        return []

    # args -> LPAR explist RPAR
    def args_list(self, c):
        self.args_line = c[0][2]
        return c[1]

    # args -> table
    def args_one(self, c):
        self.args_line = c[0].line
        return [c[0]]

    # args -> STRING
    def args_string(self, c):
        self.args_line = c[0][2]
        return [ast.String(c[0][1], c[0][2])]

    # table -> LBRACE RBRACE
    def table_empty(self, c):
        return ast.Table([], c[0][2])

    # table -> LBRACE fields RBRACE
    # table -> LBRACE fields COMMA RBRACE
    # table -> LBRACE fields SEMI RBRACE
    def table(self, c):
        return ast.Table(c[1], c[0][2])

    # fields -> field
    def fields_new(self, c):
        return [c[0]]

    # fields -> fields COMMA field
    # fields -> fields SEMI field
    def fields_add(self, c):
        fields, _, field = c
        fields.append(field)
        return fields

    # field -> exp
    def field_positional(self, c):
        return ast.Field(None, c[0], c[0].line)

    # field -> NAME ASSIGN exp
    def field_named(self, c):
        name = c[0]
        return ast.Field(ast.String(name[1], name[2]), c[2], name[2])

    # field -> LSQB exp RSQB ASSIGN exp
    def field_keyed(self, c):
        lsqb, key, _, _, value = c
        return ast.Field(key, value, lsqb[LINE])


#: The tree-building callback of each alternative's alias (``-> name`` in
#: ``grammar/lua.lark``), in grammar order: the ``_Parser`` method of that name.
_CALLBACKS = {alias: getattr(_Parser, alias) for alias in (
    "chunk", "block", "block_return", "stats_new", "stats_add", "ret_none", "ret_values",
    "st_empty", "st_expr", "st_assign", "st_label", "st_break", "st_goto", "st_do", "st_while",
    "st_repeat", "st_if", "st_if_else", "st_for_num", "st_for_num_step", "st_for_in",
    "st_function", "st_method", "st_local_function", "st_local", "st_local_assign", "targets_new",
    "targets_add", "elseifs_new", "elseifs_add", "names_new", "names_add", "attnames_new",
    "attnames_add", "attname", "attname_attrib", "funcname_new", "funcname_field",
    "funcbody_noparams", "funcbody", "params", "params_vararg", "params_only_vararg",
    "explist_new", "explist_add", "exp_single", "exp_ops", "ops_unary", "ops_binary",
    "ops_add_unary", "ops_add_binary", "e_number", "e_string", "e_nil", "e_true", "e_false",
    "e_vararg", "unit", "e_function", "e_name", "e_paren", "e_field", "e_index", "e_call",
    "e_method_call", "args_none", "args_list", "args_one", "args_string", "table_empty", "table",
    "fields_new", "fields_add", "field_positional", "field_named", "field_keyed",
)}


# ===================================================================== API


def parse(source: str, chunkname: str, nesting_limit: int = 200, progress=None) -> ast.Chunk:
    """Parse a Lua chunk.

    ``source`` is a latin-1 ``str`` (one character per byte); ``chunkname``
    is the display name used in messages.  Raises ``LuaSyntaxError`` with
    lua5.4's wording.  ``progress(nbytes)``, if given, is told as the lexer
    advances (``load`` charges parsing to the budgets through it).
    """
    parser = _Parser(source, chunkname, nesting_limit)
    block = parser.run(0, progress)
    last_line = parser.lookahead[2]
    block.line = 1
    block.end_line = last_line
    main = ast.Function([], True, block, 0, last_line, "main chunk", size=len(source),
                        text=ast.SourceText(source, 0, len(source), 1))
    return ast.Chunk(main, chunkname)
