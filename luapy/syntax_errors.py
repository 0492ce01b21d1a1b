"""Syntax errors worded as lua5.4 words them, from an LALR parser's state.

lua5.4's recursive-descent parser words an error by where it is in its own
code: ``'=' expected``, ``'end' expected (to close 'function' at line 3)``,
``unexpected symbol``.  luapy's table-driven parser has no such place, so
``SyntaxErrorWording`` rebuilds it from what the parser does have: the
unexpected token, the tokens the parse table would have accepted there (a
few reductions replayed, see ``viable_tokens``), and the unfinished
constructs on the parser stack (the innermost open block, parenthesis or
brace, for ``check_match``'s "to close" wording).
"""

from __future__ import annotations

from . import ast
from .errors import LuaSyntaxError

_SUFFIX_RULES = {ast.Name: "e_name", ast.Index: "e_field", ast.Call: "e_call",
                 ast.MethodCall: "e_method_call", ast.Paren: "e_paren"}
_CLOSERS = frozenset("END ELSE ELSEIF UNTIL $END".split())
#: Tokens that open or close blocks, for naming the block an error leaves open.
_BLOCK_TOKENS = frozenset("WHILE FOR IF REPEAT DO FUNCTION END UNTIL".split())


class SyntaxErrorWording:
    """The error-wording half of ``luapy.parser._Parser`` (a mixin: it
    reads the parser's stacks and words through its ``error``)."""

    def syntax_error(self, token, states, values) -> LuaSyntaxError:
        """Word the error as lparser.c would at this point of the input.

        The viable next tokens say where the parser is: NIL among them means
        an expression may start, LOCAL a statement, BINOP that an expression
        may go on, DOT that a suffixed expression may; END/UNTIL/ELSE/$END
        that the current block may close.  The checks run in the order
        lparser.c would reach them.
        """
        expected = self.viable_tokens(states)
        top = values[-1]
        if (type(top) is tuple and top[0] == "ELLIPSIS" and "BINOP" in expected
                and not self.in_vararg_function()):
            # lparser.c rejects the '...' expression itself, before looking further.
            return self.error(top[2], "cannot use '...' outside a vararg function", top)
        ttype = token[0]
        line = token[2]

        def near(message):
            return self.error(line, message, token)

        if not expected.isdisjoint(_CLOSERS):
            # The current block may end here.
            if ttype in _CLOSERS:
                return self.closer_expected(token, values)
            if "ASSIGN" in expected and "DOT" in expected and "LOCAL" in expected:
                # After the first expression of an expression statement:
                # lua5.4 accepts it as a statement only if it is a call.
                if self.last_suffix(states, values, "SEMI") in ("e_call", "e_method_call"):
                    return near("unexpected symbol")
                return near("syntax error")
            if "LOCAL" in expected or "NIL" in expected:
                return near("unexpected symbol")
            return self.closer_expected(token, values)    # after 'return ...'
        if "NIL" in expected:
            return near("unexpected symbol")
        if "NAME" in expected and "ELLIPSIS" in expected:
            return near("<name> or '...' expected")
        if "THEN" in expected:
            return near("'then' expected")
        if "DO" in expected:
            return near("'do' expected")
        if "RPAR" in expected:
            return self.rpar_expected(token, values)
        if "RBRACE" in expected:
            opener = self.innermost_open(values, "LBRACE", "RBRACE")
            return self.match_expected("'}'", "'{'", values[opener] if opener else None, token)
        if "RSQB" in expected:
            return near("']' expected")
        if "IN" in expected:
            return near("'=' or 'in' expected" if "ASSIGN" in expected else "'in' expected")
        if "GT" in expected and "BINOP" not in expected:
            return near("'>' expected")
        if "DBCOLON" in expected:
            return near("'::' expected")
        if "ASSIGN" in expected:
            if "DOT" in expected and self.last_suffix(states, values, "ASSIGN") not in (
                    "e_name", "e_field", "e_index"):
                return near("syntax error")     # a later target that is no variable
            return near("'=' expected")
        if "COMMA" in expected:
            return near("',' expected")
        if "STRING" in expected and "LPAR" in expected and "NAME" not in expected:
            return near("function arguments expected")
        if "LPAR" in expected and "NAME" not in expected:
            return near("'(' expected")
        if "NAME" in expected and "LPAR" not in expected:
            return near("<name> expected")
        return near("unexpected symbol")

    @staticmethod
    def viable_tokens(states) -> set:
        """The terminals the parser could really shift next from ``states``.

        An LALR state's action row also lists lookaheads merged in from
        other contexts, which only lead to an error a few reductions later;
        replaying the reductions on a copy of the stack weeds them out.
        """
        from .parser import _get_table

        table = _get_table()
        actions = table.actions
        viable = set()
        for terminal in actions[states[-1]]:
            if not terminal.isupper() and terminal != "$END":
                continue            # a goto on a nonterminal
            stack = list(states)
            while True:
                action = actions[stack[-1]].get(terminal)
                if action is None:
                    break
                if action >= 0:
                    viable.add(terminal)
                    break
                origin, size, _ = table.rules[~action]
                if size:
                    del stack[-size:]
                stack.append(actions[stack[-1]][origin])
                if stack[-1] == table.end:
                    viable.add(terminal)
                    break
        return viable

    @staticmethod
    def last_suffix(states, values, terminal: str) -> str | None:
        """The rule that built the suffixed expression on top of the stack
        (``e_name``, ``e_call``, ...), which may still be waiting for its
        final reductions: replay what ``terminal`` would reduce."""
        top = values[-1]
        if isinstance(top, ast.Node):
            return _SUFFIX_RULES.get(type(top))
        from .parser import _get_table

        table = _get_table()
        actions = table.actions
        stack = list(states)
        last = None
        while True:
            action = actions[stack[-1]].get(terminal)
            if action is None or action >= 0:
                return last
            origin, size, alias = table.rules[~action]
            if origin != "suffixedexp" and origin != "args":
                return last
            if origin == "suffixedexp":
                last = alias
            if size:
                del stack[-size:]
            stack.append(actions[stack[-1]][origin])

    @staticmethod
    def innermost_open(values, opener: str, closer: str):
        """Index of the innermost ``opener`` token not yet matched by a
        ``closer`` on the stack (a complete ``(...)`` may wait there for
        its reduction), or 0."""
        closed = 0
        for i in range(len(values) - 1, 0, -1):
            value = values[i]
            if type(value) is tuple:
                if value[0] == closer:
                    closed += 1
                elif value[0] == opener:
                    if not closed:
                        return i
                    closed -= 1
        return 0

    def match_expected(self, what: str, who: str, opener_line, token) -> LuaSyntaxError:
        """lparser.c's ``check_match``."""
        if not isinstance(opener_line, int):
            opener_line = opener_line[2] if opener_line else token[2]
        if opener_line == token[2]:
            return self.error(token[2], f"{what} expected", token)
        return self.error(token[2], f"{what} expected (to close {who} at line {opener_line})",
                          token)

    def rpar_expected(self, token, values) -> LuaSyntaxError:
        """')' expected: parameter lists say so plainly; parenthesised
        expressions and argument lists use ``check_match``."""
        i = self.innermost_open(values, "LPAR", "RPAR")
        if not i:
            return self.error(token[2], "')' expected", token)
        before = values[i - 1]
        method_call = (type(before) is tuple and before[0] == "NAME" and i >= 3
                       and values[i - 2][0:1] == ("COLON",)
                       and isinstance(values[i - 3], ast.Node))
        from .parser import _FuncName

        parameters = not method_call and (isinstance(before, _FuncName) or (
            type(before) is tuple and before[0] in ("NAME", "FUNCTION")))
        if parameters:
            return self.error(token[2], "')' expected", token)
        return self.match_expected("')'", "'('", values[i], token)

    def closer_expected(self, token, values) -> LuaSyntaxError:
        """The innermost open block wants its ``end``/``until``."""
        closed = 0      # 'end'/'until' tokens seen: they close the next openers
        for i in range(len(values) - 1, 0, -1):
            value = values[i]
            if type(value) is not tuple or value[0] not in _BLOCK_TOKENS:
                continue
            kind = value[0]
            if kind in ("END", "UNTIL"):
                closed += 1
                continue
            if kind == "DO":
                before = values[i - 1]
                standalone = type(before) is list and not (
                    type(values[i - 2]) is tuple and values[i - 2][0] == "IN")
                if not standalone:
                    continue        # the 'do' of a while or for
            if closed:
                closed -= 1
                continue
            if kind == "REPEAT":
                return self.match_expected("'until'", "'repeat'", value, token)
            if kind == "DO":
                return self.match_expected("'end'", "'do'", value, token)
            if kind == "FUNCTION":
                after = values[i + 1] if i + 1 < len(values) else None
                line = value[2]
                from .parser import _FuncName

                if not isinstance(after, _FuncName):
                    # anonymous and local functions are dated by their '('
                    line = next(v[2] for v in values[i:] if type(v) is tuple and v[0] == "LPAR")
                return self.match_expected("'end'", "'function'", line, token)
            return self.match_expected("'end'", f"'{kind.lower()}'", value, token)
        return self.error(token[2], "<eof> expected", token)
