"""Expressions: constants, variables, tables, operators and conditions."""

from __future__ import annotations

import math

from .. import ast
from ..resolve import LocalVar, UpvalRef
from ..runtime import ops
from ..runtime.values import MAXINT, MININT
from .analysis import COMPARISONS, ERRING_NODES, has_effects, is_int_literal, is_multi
from . import templates
from .array_loops import slow_path
from .templates import SIMPLE, attributable

#: Past this many nested inline templates, results go to temporaries so the
#: generated source never hits CPython's parser nesting limits.
MAX_INLINE_DEPTH = 12
#: String constants longer than this live in the namespace, not the source.
MAX_INLINE_STRING = 120
#: A constructor of constants with more fields than this (or any nested
#: one) becomes a ``TableTemplate`` in the namespace instead of source.
MIN_TEMPLATE_FIELDS = 8


class ExpressionCompiler:
    """The expression half of ``FunctionCompiler``."""

    #: While compiling an array loop's copy of its body, that loop's plan
    #: (``luapy.compile.array_loops``).
    array_loop = None

    def expr(self, node, line: int | None = None) -> str:
        """Python expression text for the single value of ``node``, on its
        own line or ``line``."""
        if self.budget is not None:
            self.budget.node()
        if line is None:
            line = node.line
        if line != self.line and line and type(node) in ERRING_NODES:
            # Give an expression on its own line its own Python statement,
            # so errors in it name its line.
            saved = self.line
            self.line = line
            try:
                return self.materialize(self.EXPRESSIONS[type(node)](self, node), line)
            finally:
                self.line = saved
        self.inline_depth += 1
        try:
            result = self.EXPRESSIONS[type(node)](self, node)
        finally:
            self.inline_depth -= 1
        if self.inline_depth >= MAX_INLINE_DEPTH:
            return self.materialize(result)
        return result

    def simple(self, node) -> str:
        """Like ``expr`` but always a name or a literal (safe to repeat)."""
        return self.materialize(self.expr(node))

    def operands(self, nodes, force: bool = False) -> list[str]:
        """Evaluate ``nodes`` left to right, protecting earlier values."""
        # The last operand with effects: every value before it is fixed
        # in a temporary first (one pass, so long lists stay linear).
        last_effect = -1
        if not force:
            for i in range(len(nodes) - 1, -1, -1):
                if has_effects(nodes[i]):
                    last_effect = i
                    break
        results = []
        for i, node in enumerate(nodes):
            value = self.expr(node)
            if force or i < last_effect:
                value = self.materialize(value)
            results.append(value)
        return results

    def string(self, value: str) -> str:
        if len(value) > MAX_INLINE_STRING:
            return self.chunk.constant(value)
        return repr(value)

    def expr_Nil(self, node) -> str:
        return "None"

    def expr_TrueExpr(self, node) -> str:
        return "True"

    def expr_FalseExpr(self, node) -> str:
        return "False"

    def expr_Number(self, node) -> str:
        value = node.value
        if type(value) is int:
            return repr(value)
        if value != value:
            return "NAN"
        if value == math.inf:
            return "INF"
        if value == -math.inf:
            return "NINF"
        return repr(value)

    def expr_String(self, node) -> str:
        return self.string(node.value)

    def expr_Vararg(self, node) -> str:
        return "(va[0] if va else None)"

    def expr_Paren(self, node) -> str:
        return self.expr(node.expr)

    def expr_Function(self, node) -> str:
        # lua5.4 makes a closure on the line of the function's ``end``.
        closure = self.closure(node)
        if node.end_line != self.line:
            return self.materialize(closure, node.end_line)
        return closure

    def closure(self, node: ast.Function, declared_as: LocalVar | None = None) -> str:
        """A new closure of ``node``; ``declared_as`` is the local a ``local
        function`` statement declares it as (see ``calls_itself``)."""
        number = self.chunk.nested_function(type(self), node, declared_as)  # the same back end
        cells = []
        for kind, index in node.scope.upvalues:
            if kind == "local":
                cells.append(f"c{index}")
            else:
                cells.append(f"u{index}")
        upvals = "(" + ", ".join(cells) + ("," if len(cells) == 1 else "") + ")"
        return f"P{number}({upvals})"

    def expr_Name(self, node) -> str:
        return self.name_value(node.binding)

    def name_value(self, binding) -> str:
        if type(binding) is LocalVar:
            return f"c{binding.slot}[0]" if binding.captured else f"l{binding.slot}"
        if type(binding) is UpvalRef:
            return f"u{binding.index}[0]"
        if self.compact:
            reader = "GLOBAL_L" if type(binding.env) is LocalVar else "GLOBAL_U"
            return f"{reader}({self.name_value(binding.env)}, {self.string(binding.name)})"
        env = self.simple_name(binding.env)
        return self.field_read(env, self.string(binding.name), self.env_desc(binding))

    def simple_name(self, binding) -> str:
        value = self.name_value(binding)
        return value if SIMPLE.match(value) else self.materialize(value)

    def field_read(self, obj: str, key: str, desc, result: str = "_v", known_table: bool = False) -> str:
        """``obj[key]`` for a string ``key``: the hash part of a plain table
        inline, ``INDEX`` otherwise.  ``obj`` must be safe to repeat."""
        if self.compact:
            return templates.helper_index(obj, key, desc)
        return templates.field_read(obj, key, desc, result, known_table)

    def is_int(self, node) -> bool:
        """Is ``node`` certainly an integer (a literal or a plain int loop variable)?"""
        if is_int_literal(node):
            return True
        return self._local_in(node, self.known_int)

    def is_positive_int(self, node) -> bool:
        """Is ``node`` certainly an integer ``>= 1`` (a literal, or a loop
        variable counting up from one)?"""
        if is_int_literal(node):
            return node.value >= 1
        return self._local_in(node, self.known_positive)

    def is_table(self, node) -> bool:
        """Is ``node`` certainly a table (a local only ever set by a constructor)?"""
        return self._local_in(node, self.known_table)

    @staticmethod
    def _local_in(node, slots: set) -> bool:
        # Slots are never reused within a function, so a slot stands for
        # one local.  Captured locals live in cells other closures can set.
        return (type(node) is ast.Name and type(node.binding) is LocalVar
                and not node.binding.captured and node.binding.slot in slots)

    def expr_Index(self, node) -> str:
        desc = self.describe(node.obj)
        known_table = self.is_table(node.obj)
        if type(node.key) is ast.String:
            obj = self.simple(node.obj)
            return self.field_read(obj, self.string(node.key.value), desc, known_table=known_table)
        if self.compact:
            obj, key = self.operands([node.obj, node.key])
            return templates.helper_index(obj, key, desc)
        key_node = node.key
        if type(key_node) is ast.Number and type(key_node.value) is int and key_node.value >= 1:
            return templates.array_read(self.simple(node.obj), key_node.value, desc, known_table)
        obj, key = self.operands([node.obj, node.key], force=True)
        ordinary = templates.index_read(self.materialize(obj), self.materialize(key), desc,
                                        self.is_int(node.key), known_table, self.is_positive_int(node.key))
        plan = self.array_loop
        if plan is not None and (table := plan.table_at(node)) is not None:
            return plan.read(table, ordinary)
        return ordinary

    def slow(self, call: str) -> str:
        """A runtime helper's call on an operator's slow path."""
        return call if self.array_loop is None else slow_path(call)

    def expr_Call(self, node) -> str:
        return self.call(node, first_value=True)

    def expr_MethodCall(self, node) -> str:
        return templates.first_value(self.method_call(node))

    def expr_Table(self, node) -> str:
        fields = node.fields
        if not fields:
            return "NEWTABLE()"
        template = self.chunk.table_template(node)
        if template is not None and (template.nested or len(fields) > MIN_TEMPLATE_FIELDS):
            return f"NEWCONST({self.chunk.constant(template)})"
        positional = [f for f in fields if f.key is None]
        keyed = [f for f in fields if f.key is not None]
        expands = bool(positional) and fields[-1].key is None and is_multi(fields[-1].value)
        # Evaluate every field in source order.
        order = []
        for f in fields:
            if f.key is not None:
                order.append(f.key)
            order.append(f.value)
        if expands:
            order = order[:-1]
        values = self.operands(order, force=len(order) > 1 and any(has_effects(n) for n in order))
        if expands and values:
            values = [self.materialize(v) for v in values]
        it = iter(values)
        items = []
        pairs = []
        for f in fields:
            if f is fields[-1] and expands:
                break
            if f.key is not None:
                k = next(it)
                v = next(it)
                pairs.append(f"{k}, {v}")
            else:
                items.append(next(it))
        if expands:
            items.append("*" + self.spread(fields[-1].value))
        array = "[" + ", ".join(items) + "]"
        if not keyed:
            return f"NEWARRAY({array})"
        return f"NEWTABLE({array}, ({', '.join(pairs)},))"

    def expr_BinOp(self, node) -> str:
        op = node.op
        if op == "and" or op == "or":
            return self.logical(node)
        if op in COMPARISONS:
            return self.comparison(node)
        return self.arithmetic(node)

    def logical(self, node) -> str:
        left = self.simple(node.left)
        right, lines = self.capture(lambda: self.expr(node.right))
        truthy = f"({left} is not None and {left} is not False)"
        condition = truthy if node.op == "and" else f"not {truthy}"
        if not lines:
            return f"({right} if {condition} else {left})"
        return self.short_circuit(left, lambda _: condition, right, lines)

    def short_circuit(self, first: str, when, second: str, lines) -> str:
        """A temporary holding ``first``, replaced by ``second`` (after the
        statements ``lines`` it needs) when ``when(temporary)`` holds: an
        ``and``/``or`` whose right side can't be one expression."""
        result = self.temp()
        self.emit(f"{result} = {first}")
        self.emit(f"if {when(result)}:")
        self.indent += 1
        self.splice(lines)
        self.emit(f"{result} = {second}")
        self.indent -= 1
        return result

    def binary_operands(self, node) -> tuple[str, str]:
        """A binary operator's operands, each in a temporary.  lua5.4 reads
        a table field on the left once it has read the operator, so on the
        operator's line."""
        left = self.materialize(self.expr(node.left, node.line if type(node.left) is ast.Index else None))
        return left, self.materialize(self.expr(node.right))

    def arithmetic(self, node) -> str:
        op = node.op
        descs = f"{self.describe(node.left)!r}, {self.describe(node.right)!r}"
        if self.compact:
            left, right = self.operands([node.left, node.right])
            return f"ARITH({op!r}, {left}, {right}, {descs})"
        left, right = self.binary_operands(node)
        slow = self.slow(f"ARITH({op!r}, {left}, {right}, {descs})")
        right_int = self.is_int(node.right)
        left_int = self.is_int(node.left)
        checks = []
        if not left_int:
            checks.append(f"type({left}) is int")
        if not right_int:
            checks.append(f"type({right}) is int")
        both_int = " and ".join(checks) if checks else "True"
        right_positive = is_int_literal(node.right) and node.right.value > 0
        if op in ("+", "-", "*"):
            # Literal bounds and a test on the operand (no temporary) are the
            # fewest bytecodes that keep 64-bit wrap-around exact; a result
            # at exactly MININT takes the slow path, which wraps it right.
            if op == "-" and right_positive:
                return f"({left} - {right} if {both_int} and {left} >= {MININT + node.right.value} else {slow})"
            if op == "+" and right_positive:
                return f"({left} + {right} if {both_int} and {left} <= {MAXINT - node.right.value} else {slow})"
            return f"(_r if {both_int} and abs(_r := {left} {op} {right}) <= {MAXINT} else {slow})"
        if op == "%":
            return f"({left} % {right} if {both_int} and {right} else {slow})"
        if op == "//":
            return f"({left} // {right} if {both_int} and {right} > 0 else {slow})"
        if op in ("&", "|", "~"):
            python_op = "^" if op == "~" else op
            return f"({left} {python_op} {right} if {both_int} else {slow})"
        if op == "..":
            return self.slow(f"CONCAT(({left}, {right}), ({descs}))")
        return slow

    def comparison(self, node) -> str:
        op = node.op
        right_node = node.right
        if op in ("==", "~=") and type(right_node) in (ast.String, ast.Nil, ast.TrueExpr, ast.FalseExpr):
            left = self.expr(node.left)
            equal = op == "=="
            if type(right_node) is ast.String:
                return f"({left} {'==' if equal else '!='} {self.string(right_node.value)})"
            constant = {ast.Nil: "None", ast.TrueExpr: "True", ast.FalseExpr: "False"}[type(right_node)]
            return f"({left} {'is' if equal else 'is not'} {constant})"
        if self.compact:
            left, right = self.operands([node.left, node.right])
            if op in ("==", "~="):
                return f"({'' if op == '==' else 'not '}EQ({left}, {right}))"
            if op in (">", ">="):
                # LT/LE take their operands swapped: fix the order first.
                left, right = self.materialize(left), self.materialize(right)
                return f"{'LT' if op == '>' else 'LE'}({right}, {left})"
            return f"{'LT' if op == '<' else 'LE'}({left}, {right})"
        left, right = self.binary_operands(node)
        if op in ("==", "~="):
            if self.is_int(node.left) and self.is_int(right_node):
                result = f"({left} == {right})"
            else:
                result = (f"({left} == {right} if type({left}) is type({right}) and type({left}) is not Table "
                          f"else {self.slow(f'EQ({left}, {right})')})")
            return result if op == "==" else f"(not {result})"
        conditions = [f"type({operand}) is int" for operand, node_ in ((left, node.left), (right, right_node))
                      if not self.is_int(node_)]
        checks = " and ".join(conditions) if conditions else "True"
        helper = "LT" if op in ("<", ">") else "LE"
        # LT/LE take the operands of > and >= swapped.
        slow = self.slow(f"{helper}({right}, {left})" if op in (">", ">=") else f"{helper}({left}, {right})")
        return f"({left} {op} {right} if {checks} else {slow})"

    def expr_Concat(self, node) -> str:
        descs = ", ".join(repr(self.describe(o)) for o in node.operands)
        if self.compact:
            return f"CONCAT(({', '.join(self.operands(node.operands))},), ({descs},))"
        values = [self.materialize(v) for v in self.operands(node.operands, force=True)]
        # Two literals would be one constant after CPython's folding: the
        # equal literal's object, where Lua makes a new string (``%p``).
        if len(values) == 2 and not all(type(o) is ast.String for o in node.operands):
            a, b = values
            return (f"({a} + {b} if type({a}) is str and type({b}) is str and CHARGE({ops.STRING_COST} + len({a}) + len({b})) "
                    f"else {self.slow(f'CONCAT(({a}, {b}), ({descs},))')})")
        return self.slow(f"CONCAT(({', '.join(values)},), ({descs},))")

    def expr_UnOp(self, node) -> str:
        op = node.op
        desc = self.describe(node.operand)
        if op == "not":
            value = self.simple(node.operand)
            return f"({value} is None or {value} is False)"
        if self.compact:
            helper = {"-": "NEG", "#": "LEN", "~": "BNOT"}[op]
            return f"{helper}({self.expr(node.operand)}, {desc!r})"
        value = self.simple(node.operand)
        if op == "-":
            return f"(-{value} if type({value}) is int and {value} != MININT else {self.slow(f'NEG({value}, {desc!r})')})"
        if op == "#":
            value = attributable(value)
            if self.is_table(node.operand):
                return f"(len({value}.arr) if {value}.meta is None else LEN({value}, {desc!r}))"
            return (f"(len({value}) if type({value}) is str else len({value}.arr) "
                    f"if type({value}) is Table and {value}.meta is None else LEN({value}, {desc!r}))")
        return f"BNOT({value}, {desc!r})"

    def test(self, node, line: int | None = None) -> str:
        """Python expression text for the truthiness of ``node`` (read on
        ``line``, if not its own)."""
        t = type(node)
        if t is ast.BinOp and node.op in COMPARISONS:
            return self.comparison(node)
        if t is ast.UnOp and node.op == "not":
            inner = self.test(node.operand)
            return f"(not {inner})"
        if t is ast.TrueExpr:
            return "True"
        if t is ast.BinOp and node.op in ("and", "or"):
            left = self.test(node.left)
            right, lines = self.capture(lambda: self.test(node.right))
            if not lines:
                return f"({left} {node.op} {right})"
            negation = "" if node.op == "and" else "not "
            return self.short_circuit(left, lambda result: negation + result, right, lines)
        value = self.materialize(self.expr(node, line))
        return f"({value} is not None and {value} is not False)"

    #: The compiler of each kind of expression.
    EXPRESSIONS = {
        ast.Nil: expr_Nil, ast.TrueExpr: expr_TrueExpr, ast.FalseExpr: expr_FalseExpr,
        ast.Number: expr_Number, ast.String: expr_String, ast.Vararg: expr_Vararg,
        ast.Paren: expr_Paren, ast.Function: expr_Function, ast.Name: expr_Name,
        ast.Index: expr_Index, ast.Call: expr_Call, ast.MethodCall: expr_MethodCall,
        ast.Table: expr_Table, ast.BinOp: expr_BinOp, ast.Concat: expr_Concat,
        ast.UnOp: expr_UnOp,
    }
