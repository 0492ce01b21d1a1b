"""Calls, what a call is charged, and how errors name the values involved.

A Lua call costs a step and a level of depth (the prologue, see the
package's "Accounting"); a call site remembers how it names its callee
(``call_site``) and every operation names its operands as lua5.4 does
(``describe``), so a runtime error reads ``attempt to call a nil value
(global 'f')``.
"""

from __future__ import annotations

from .. import ast
from ..resolve import GlobalRef, LocalVar, UpvalRef
from ..runtime.ops import VALUES_PER_STEP
from .analysis import constant_truth, has_effects, is_multi, returns_a_call
from . import templates
from .templates import SIMPLE, attributable


class CallCompiler:
    """The call half of ``FunctionCompiler``."""

    #: The text of a call (direct, method, through the helper alone, tail).
    CALL_TEMPLATES = {"call": templates.call, "method": templates.method_call,
                      "helper": templates.helper_call, "tail": templates.tail_call}

    def prologue(self, overflow_level: int) -> None:
        """Charge this call a level of depth and a step (see "Accounting").

        No depth compare: the countdown is armed so that it runs out before
        the depth can pass the limit (``luapy.runtime.state``).  A runtime
        with neither a step nor a time budget has nothing to count down, so
        its calls only compare the depth with the limit.
        """
        limits = self.st.limits
        if limits.steps is None and limits.time is None:
            self.emit(f"if (_depth := _depth + 1) > {self.st.max_depth}: OVERFLOW({overflow_level})")
            return
        self.emit("_depth += 1")
        check = "st.budget_check()" if overflow_level == 1 else f"st.budget_check({overflow_level})"
        self.emit(f"if (_steps := _steps - 1) < 0: {check}")

    def budget_tick(self) -> None:
        if self.st.options.count_steps:
            self.emit("_steps -= 1")
            self.emit("if _steps < 0: st.budget_check()")

    def loop_tick(self, counter: str) -> None:
        """Charge a loop iteration: a local countdown, settled in batches."""
        if self.st.options.count_steps:
            self.emit(f"if ({counter} := {counter} - 1) < 0: {counter} = TICK()")

    def epilogue(self) -> None:
        """Give back the level the prologue took, however the body ends."""
        self.emit("finally:", self.node.end_line)
        self.emit("    _depth -= 1", self.node.end_line)

    def env_desc(self, binding: GlobalRef) -> str:
        """How lua5.4 names the ``_ENV`` a global lives in, should it not be
        indexable (``load(s, n, "t", nil)``)."""
        return "local '_ENV'" if type(binding.env) is LocalVar else "upvalue '_ENV'"

    def describe(self, node) -> str | None:
        """How lua5.4 names ``node`` in an error message."""
        t = type(node)
        if t is ast.Name:
            binding = node.binding
            if type(binding) is LocalVar:
                return f"local '{node.name}'"
            if type(binding) is UpvalRef:
                return f"upvalue '{node.name}'"
            return f"global '{node.name}'"
        if t is ast.Index:
            key = node.key
            if type(key) is ast.String:
                if type(node.obj) is ast.Name and node.obj.name == "_ENV":
                    return f"global '{key.value}'"
                return f"field '{key.value}'"
            if type(key) is ast.Number and type(key.value) is int and 0 <= key.value <= 255:
                return "field 'integer index'"  # lua5.4's wording for t[<small int>]
            return "field '?'"
        if t is ast.String:
            return f"constant '{node.value.split(chr(0))[0]}'"  # a C string ends at NUL
        if t is ast.Paren:
            return self.describe(node.expr)
        if t is ast.BinOp and node.op in ("and", "or"):
            # lua5.4 folds `true-ish-const and x` and `nil/false or x` at
            # compile time (luaK_goiftrue / luaK_goiffalse), so the value is
            # named after ``x``; any other constant on the left is loaded
            # into a register first, and a register has no name.
            truth = constant_truth(node.left)
            if truth is not None:
                return self.describe(node.right) if truth == (node.op == "and") else None
        return None

    def arguments(self, args) -> str:
        """Argument list text (``a, b, *rest``) evaluated left to right."""
        return ", ".join(self.argument_list(args))

    def argument_list(self, args) -> list[str]:
        """The text of each argument (the last maybe ``*rest``), evaluated
        left to right into names or constants."""
        if not args:
            return []
        if is_multi(args[-1]):
            # The expanded call runs last; earlier arguments are fixed first.
            head = [self.materialize(h) for h in self.operands(args[:-1], force=True)]
            return head + [f"*{self.spread(args[-1])}"]
        # Call templates mention the arguments twice (fast and slow branch):
        # keep them as names so the source never grows with nesting.
        return [self.materialize(a) for a in self.operands(args)]

    def spread(self, node) -> str:
        """The values of a multi-value ``node`` (a call or ``...``) about to
        be spread into a longer list (arguments, a return list, a table
        constructor), as a name.

        Spreading copies every value, so a long run of them is charged
        (``VALUES_PER_STEP``): otherwise ``local function f(...) return f(1, ...) end``
        does quadratic work for one step a call, and a step budget alone
        can't stop it."""
        values = self.materialize(self.multi(node), kind="r")
        if self.st.options.count_steps:
            self.emit(f"if len({values}) > {VALUES_PER_STEP}: st.charge(len({values}) // {VALUES_PER_STEP})")
        return values

    def multi(self, node) -> str:
        """Python expression text for the tuple of all values of ``node``."""
        t = type(node)
        if t is ast.Call:
            return self.call(node)
        if t is ast.MethodCall:
            return self.method_call(node)
        if t is ast.Vararg:
            return "va"
        return f"({self.expr(node)},)"

    def call(self, node: ast.Call, first_value: bool = False) -> str:
        """The call's tuple of results; only the first of them (or nil)
        with ``first_value``."""
        desc = self.describe(node.func)
        function = self.expr(node.func)
        if node.args and SIMPLE.match(function) is None and any(has_effects(a) for a in node.args):
            function = self.materialize(function)
        arg_list = self.argument_list(node.args)
        args = ", ".join(arg_list)
        if self.calls_itself(node.func):
            self.proto.calls_itself = True
            if first_value and self.fits_single_form(node.args):
                self.single_result_calls = True
                return self.call_site(templates.self_call_first_value(
                    function, args, f"__s{self.index}", self.single_form_arguments(arg_list), desc), desc)
            results = self.call_site(templates.self_call(function, args, f"__f{self.index}", desc), desc)
            return templates.first_value(results) if first_value else results
        template = self.CALL_TEMPLATES["helper" if self.compact else "call"]
        results = self.call_site(template(function, args, desc), desc)
        return templates.first_value(results) if first_value else results

    def fits_single_form(self, args) -> bool:
        """Can this self call pass its arguments to the single-result form?

        That form takes exactly the declared parameters (a vararg function's
        also ``*va``), so CPython's fastest call path serves it: a call of
        fixed arity qualifies; one ending in a multi-value argument does not,
        unless the function takes ``...``."""
        return self.scope.is_vararg or not (args and is_multi(args[-1]))

    def single_form_arguments(self, arg_list: list[str]) -> str:
        """The arguments fitted to the single-result form's exact parameters:
        missing ones are nil and extra ones dropped.  Arguments are names or
        constants by now (``argument_list``), already evaluated, so dropping
        one loses no effect."""
        if self.scope.is_vararg:
            return ", ".join(arg_list)
        wanted = len(self.scope.params)
        return ", ".join((arg_list + ["None"] * wanted)[:wanted])

    def calls_itself(self, callee) -> bool:
        """Is ``callee`` the local this function was declared as, so the
        call may go straight to the compiled function (``self_call``)?

        Not in a function that may return a tail call: its Python function
        would hand back the pending call, which only its ``Function.call``
        runs."""
        if (self.self_binding is None or self.compact or not self.DIRECT_SELF_CALLS
                or type(callee) is not ast.Name or type(callee.binding) is not UpvalRef
                or callee.binding.var is not self.self_binding):
            return False
        if self.may_tail_call is None:
            self.may_tail_call = returns_a_call(self.node.body)
        return not self.may_tail_call

    def method_call(self, node: ast.MethodCall) -> str:
        method, args, desc = self.method_parts(node)
        template = self.CALL_TEMPLATES["helper" if self.compact else "method"]
        return self.call_site(template(method, args, desc), desc)

    def method_parts(self, node: ast.MethodCall) -> tuple[str, str, str]:
        """``obj:name(...)``: the method looked up (before the arguments
        run, as lua5.4's SELF does), the arguments with ``obj`` first, and
        how the callee is named."""
        obj = attributable(self.simple(node.obj))
        key = self.string(node.name)
        method = self.materialize(self.field_read(obj, key, self.describe(node.obj), result="_m",
                                                  known_table=self.is_table(node.obj)))
        args = self.arguments(node.args)
        return method, obj + (", " + args if args else ""), f"method '{node.name}'"

    def call_site(self, expression: str, desc: str | None) -> str:
        """Remember how this call names its callee, for argument errors.

        The Python line the call lands on maps to ``(name, is_method,
        kind)`` (``ChunkCompiler.call_sites``), which ``error_fixer`` uses
        to word a builtin's ``ArgumentError`` the way lua5.4 does, and
        ``debug.getinfo`` for ``name`` and ``namewhat`` ("global", "local",
        "field", "method", "upvalue"...).
        """
        if desc is not None:
            kind, _, quoted = desc.partition(" ")
            self.pending_calls.append((expression, (quoted[1:-1], kind == "method", kind)))
        return expression

    def tail_call(self, node) -> str:
        if type(node) is ast.MethodCall:
            method, args, desc = self.method_parts(node)
            return self.call_site(self.CALL_TEMPLATES["tail"](method, args, desc), desc)
        desc = self.describe(node.func)
        function = attributable(self.simple(node.func))
        return self.call_site(self.CALL_TEMPLATES["tail"](function, self.arguments(node.args), desc), desc)

    def explist(self, nodes) -> str:
        """Python expression text for the tuple of an expression list."""
        if not nodes:
            return "()"
        if is_multi(nodes[-1]):
            if len(nodes) == 1:
                return self.multi(nodes[0])
            head = [self.materialize(v) for v in self.operands(nodes[:-1], force=True)]
            return f"({', '.join(head)}, *{self.spread(nodes[-1])})"
        values = self.operands(nodes)
        return f"({', '.join(values)},)"
