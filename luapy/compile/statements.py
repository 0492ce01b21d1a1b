"""Statements and control flow: blocks, loops, jumps, assignments."""

from __future__ import annotations

import re

from .. import ast
from ..resolve import LocalVar, UpvalRef
from ..runtime.frames import ForLine, QuietLine
from .analysis import COMPARISONS, assigned_locals, declares_close, has_effects, is_int_literal, is_multi, never_nil
from . import templates
from .array_loops import plan_array_loop

#: Variables of generated code that no longer matter once the statement
#: that set them is done: temporaries (``_t<n>``, ``_r<n>``, numbered
#: above the statement's first), walrus scratch (not ``_r``, which only
#: ever holds a number), a captured loop
#: variable's and a multiple local's copies (``_fi``, ``_g<slot>``,
#: ``_c<slot>``) and a generic for's state cell (``_s<slot>``).
#: (The lookbehind follows the leading ``_`` so that the scan can skip to
#: each underscore; the text scanned starts with a newline.)
_DEAD_AFTER_STATEMENT = re.compile(r"(_(?<=\W_)(?:[tr](\d+)|[afmv]|fi|[gcs]\d+|arr\d+))\b")
#: The Lua line of generated code that stands for no Lua code.
NO_LINE = 0
#: What lua5.4 names the hidden locals of a ``for`` loop.
FOR_STATE = "(for state)"
#: An ``elseif`` chain with more conditions than this that need statements
#: of their own is compiled flat (``flat_if``) instead of nested.
MAX_NESTED_ELSE = 8
#: An ``if`` with more branches than this is compiled flat too.
MAX_ELIF_CHAIN = 32
#: CPython's limit of nested blocks (loops, ``try``) in a function, and the
#: indentation past which a loop is compiled as a function of its own
#: (``StatementCompiler.hoist``; CPython refuses 100 levels).
MAX_BLOCKS = 20
HOIST_INDENT = 60
#: The names generated code gives its variables: Lua locals and cells,
#: temporaries and scratch (not ``_depth``/``_steps``, the chunk's counters).
_GENERATED_NAME = re.compile(r"\b(?:l\d+|c\d+|_(?!depth\b|steps\b)[a-z]\w*)\b")
#: Past this depth of Python indentation, a loop gets no array copy
#: (``array_loop_plan``): it would be two levels deeper than the loop.
ARRAY_LOOP_INDENT = 20
#: From this depth of Python indentation on, an ``if`` adds none
#: (``guarded_if``): CPython refuses 100 levels.
FLAT_IF_INDENT = 40


def last_token_line(chunk: ast.Function) -> int:
    """The line of a main chunk's last token, where lua5.4 puts its final
    ``return`` (the chunk's ``end_line`` is its end of file's).  The last
    non-blank character's line, unless a comment may end the source: then
    the lexer finds the last token."""
    text = chunk.text
    if text is None:
        return chunk.end_line
    source = text.source[text.start:text.stop]
    body = source.rstrip()
    tail = body[body.rfind("\n") + 1:]
    if "--" not in tail and "]" not in tail and "\r" not in body:
        return body.count("\n") + 1
    from ..parser import _Lexer, _token_batches
    line = 1
    for batch in _token_batches(source, 0, _Lexer(source, "?")):
        for token in batch:
            if token[0] in ("$END", "$ERROR"):
                return line
            if token[0] != "$MORE":
                line = token[2]
    return line


def local_names(variables) -> list[tuple[str, str]]:
    """``(name, Python local)`` of each ``LocalVar``, for ``open_locals``."""
    return [(var.name, f"c{var.slot}" if var.captured else f"l{var.slot}") for var in variables]


class LoopContext:
    """A Python loop we generated: a Lua loop or a label block's dispatcher."""

    __slots__ = ("kind", "ident", "node", "uses_exception", "pc", "labels", "closes", "closing", "kept", "closes_open")

    def __init__(self, kind: str, ident: int | None, node):
        self.kind = kind  # "loop", "labels" or "hoist"
        #: A loop's number in its chunk, which a ``BreakJump`` names.
        self.ident = ident
        self.node = node
        self.uses_exception = False
        self.pc = None
        self.labels: dict[int, int] = {}
        #: A hoist's: the ``<close>`` scopes open around it, whose ``try``
        #: blocks stay in the function it is hoisted from.
        self.closes = 0
        #: A label dispatcher's list of its block's ``<close>`` values (None
        #: without them), and for each segment how many of them were
        #: declared before its label: a ``goto`` there closes the rest.
        self.closing = None
        self.kept: dict[int, int] = {}
        #: A label dispatcher's ``open_closes`` inside its own ``try``: a
        #: ``goto`` from under more has inner variables to close first.
        self.closes_open = 0


class StatementCompiler:
    """The statement half of ``FunctionCompiler``."""

    #: ``function.early_return_bound`` of the body: its first statement
    #: returns early for small values of a parameter; and the length of the
    #: output once that statement's code is emitted: the parameter's lower
    #: bound holds from there on.
    early_return = None
    bound_guard_end = None

    def block(self, node: ast.Block, until=None) -> None:
        """Compile a block; ``until`` is a repeat loop's condition."""
        stats = node.body
        nactive = self.nactive
        labels = [s for s in stats if type(s) is ast.Label]
        if labels and self._needs_dispatch(node, labels, until):
            self._label_block(node, stats, labels, until)
        else:
            self.statements(stats, until)
        self.close_locals(nactive)

    def statements(self, stats, until=None, closing=None) -> None:
        """``closing``: the list a label dispatcher keeps its block's
        ``<close>`` values on (see ``_label_block``)."""
        live = self.live_closes
        for i, stat in enumerate(stats):
            if declares_close(stat):
                if closing is not None:
                    self._declare_closed(stat, closing)
                    self.live_closes = live + 1
                    continue
                self._close_scope(stat, stats[i + 1:], until)
                break
            self.statement(stat)
        else:
            if until is not None:
                self._until(until)
        self.live_closes = live

    def _until(self, cond) -> None:
        self.line = cond.line
        test = self.test(cond)
        self.emit(f"if {test}: break")

    def statement(self, stat) -> None:
        self.line = stat.line
        if self.budget is not None:
            self.budget.node()
        first_temp, first_line = self.temps, len(self.out)
        self.STATEMENTS[type(stat)](self, stat)
        self.let_go(first_temp, first_line)
        if self.early_return is not None and stat is self.early_return[0]:
            self.bound_guard_end = len(self.out)
        kind = type(stat)
        if kind is ast.Local:
            self.open_locals(local_names(stat.bindings))
        elif kind is ast.LocalFunction:
            self.open_locals(local_names((stat.binding,)))

    def let_go(self, first_temp: int, first_line: int) -> None:
        """End a statement by clearing the Python variables it used for
        intermediate values (temporaries above ``first_temp``, walrus
        scratch, a loop's copies) in its lines from ``first_line``.  They
        are dead once it is done, as lua5.4's registers are, but a Python
        frame would keep their objects alive: a table whose only other
        holder let go would never be collected (or finalized), a dropped
        file never closed."""
        if any(context.kind == "loop" for context in self.contexts):
            # In a loop body the next iteration overwrites them (as Lua
            # reuses registers) and the loop's own statement ends by
            # clearing them all: no cost per iteration.
            return
        # One scan of the statement's text; each distinct name is then
        # judged once (a temporary numbered at or below ``first_temp``
        # belongs to an enclosing statement).
        text = "\n".join(["", *[entry[1] for entry in self.out[first_line:] if entry[1] is not None]])
        names = {name for name, number in set(_DEAD_AFTER_STATEMENT.findall(text))
                 if not number or int(number) > first_temp}
        if names:
            # On no Lua line: a line hook sees nothing of it.
            self.emit(" = ".join(sorted(names)) + " = None", NO_LINE)

    def _needs_dispatch(self, node, labels, until) -> bool:
        # A loop body whose labels all come last ("::continue::") needs no
        # dispatcher: its gotos become Python ``continue``.
        context = self.contexts[-1] if self.contexts else None
        trailing = all(type(s) is ast.Label for s in node.body[len(node.body) - len(labels):])
        if (context is not None and context.kind == "loop" and context.node is not None
                and context.node.body is node and until is None and trailing
                and type(context.node) is not ast.Repeat):
            for label in labels:
                context.labels[self.chunk.label_id(label)] = -1
            return False
        return True

    def _label_block(self, node, stats, labels, until) -> None:
        """A block owning labels: a dispatch loop over its segments.

        Its ``<close>`` variables outlive the segment they are declared in:
        they are on one list for the whole block, closed when it ends, and
        a ``goto`` back to a label above one closes it (and any declared
        after it) before jumping."""
        context = LoopContext("labels", None, None)
        context.pc = self.temp()
        segments: list[list] = [[]]
        declared = context.kept[0] = 0
        for stat in stats:
            if type(stat) is ast.Label:
                context.labels[self.chunk.label_id(stat)] = len(segments)
                context.kept[len(segments)] = declared
                segments.append([])
            else:
                segments[-1].append(stat)
                declared += declares_close(stat)
        if declared:
            context.closing = self.temp("tbc")
            self.emit(f"{context.closing} = []")
            self.emit("_cerr = None")
            self.emit("try:")
            self.indent += 1
            self.open_closes += 1
        context.closes_open = self.open_closes
        pc = context.pc
        self.emit(f"{pc} = 0")
        self.emit("while True:")
        self.indent += 1
        self.contexts.append(context)

        def body():
            live = self.live_closes
            for number, segment in enumerate(segments):
                # Variables declared in the segments above are in scope.
                self.live_closes = live + (context.kept[number] > 0)
                self.emit(f"if {pc} <= {number}:")
                self.indented(lambda: self.statements(segment, closing=context.closing))
            self.live_closes = live
            self.emit("break")
        _, lines = self.capture(body)
        self.contexts.pop()
        if context.uses_exception:
            self.emit("try:")
            self.indent += 1
            self.splice(lines)
            self.indent -= 1
            self.emit("except GotoJump as _g:")
            self.indent += 1
            first = True
            for lid, seg in context.labels.items():
                self.emit(f"{'if' if first else 'elif'} _g.target == {lid}:")
                self.indented(lambda: (self.emit(f"{pc} = {seg}"), self._close_above(context, seg)))
                first = False
            self.emit("else: raise")
            self.budget_tick()
            self.indent -= 1
        else:
            self.splice(lines)
        self.indent -= 1
        if until is not None:
            # The condition sees the body's locals, which outlive the
            # dispatch loop as Python locals.
            self._until(until)
        if declared:
            self.open_closes -= 1
            self.indent -= 1
            self.close_handlers(context.closing)

    def _close_above(self, context: LoopContext, segment: int) -> None:
        """Before a ``goto`` to ``segment``'s label: close the variables
        declared after it, which the jump leaves the scope of."""
        if context.closing is not None:
            self.emit(f"CLOSEALL(CUT({context.closing}, {context.kept[segment]}), None)")

    def _close_scope(self, stat: ast.Local, rest, until) -> None:
        """The rest of a block from its first ``<close>`` variable on, in
        one ``try`` whatever the number of them: each is put on the block's
        list of values to close (``_tbc<n>``) as it is declared, and
        ``CLOSEALL`` closes them, last first, however the block ends.  (A
        ``try`` per variable would stop at CPython's 20 nested blocks.)"""
        closing = self.temp("tbc")
        self.emit(f"{closing} = []")
        self._declare_closed(stat, closing)
        self.emit("_cerr = None")
        self.emit("try:")
        self.open_closes += 1
        self.live_closes += 1

        def scope():
            for other in rest:
                if declares_close(other):
                    self._declare_closed(other, closing)
                else:
                    self.statement(other)
            if until is not None:
                self._until(until)
            if not rest and until is None:
                self.emit("pass")
        self.indented(scope)
        self.open_closes -= 1
        self.live_closes -= 1
        self.close_handlers(closing)

    def _declare_closed(self, stat: ast.Local, closing: str) -> None:
        """A ``local x <close> = v`` statement, ``v`` put on ``closing``."""
        first_temp, first_line = self.temps, len(self.out)
        self.stat_Local(stat)
        self.let_go(first_temp, first_line)
        self.open_locals(local_names(stat.bindings))
        var = stat.bindings[stat.attribs.index("close")]
        value = f"c{var.slot}[0]" if var.captured else f"l{var.slot}"
        # lua5.4 checks where the values end (the last one's line, here).
        line = getattr(stat.exprs[-1], "line", stat.line) if stat.exprs else stat.line
        self.emit(f"CHECK_CLOSABLE({value}, {var.name!r})", line)
        self.emit(f"{closing}.append({value})")

    def close_handlers(self, closing: str) -> None:
        """Close the values on ``closing`` however the scope ends, with the
        error if any."""
        self.emit("except LuaError as _ce:")
        self.emit("    _cerr = _ce")
        self.emit("    raise")
        self.emit("finally:")
        self.emit(f"    CLOSEALL({closing}, _cerr)")

    def stat_Label(self, node) -> None:
        pass

    def stat_Do(self, node: ast.Do) -> None:
        self.body_or_pass(lambda: self.block(node.body))

    def stat_CallStat(self, node: ast.CallStat) -> None:
        self.emit(self.multi(node.call))

    def stat_Local(self, node: ast.Local) -> None:
        targets = node.bindings
        exprs = node.exprs
        self.line = self.store_line(node)
        if not exprs:
            for var in targets:
                self.emit(f"c{var.slot} = [None]" if var.captured else f"l{var.slot} = None")
            return
        self.note_table_local(targets, exprs)
        if not is_multi(exprs[-1]) or len(exprs) > len(targets):
            # Every expression runs; extra values are dropped, missing ones
            # are nil.
            values = self.operands(exprs)
            for i, value in enumerate(values):
                if i >= len(targets):
                    if has_effects(exprs[i]):
                        self.emit(value)
                    continue
                var = targets[i]
                self.emit(f"c{var.slot} = [{value}]" if var.captured else f"l{var.slot} = {value}")
            for var in targets[len(values):]:
                self.emit(f"c{var.slot} = [None]" if var.captured else f"l{var.slot} = None")
            return
        names = []
        for var in targets:
            names.append(f"_c{var.slot}" if var.captured else f"l{var.slot}")
        if len(targets) == 1 and len(exprs) == 1:
            # One value of a call or ``...``: the expression's own first value.
            self.emit(f"{names[0]} = {self.expr(exprs[0])}")
        else:
            self.emit(f"{', '.join(names)}, = ADJUST({self.explist(exprs)}, {len(targets)})")
        for var in targets:
            if var.captured:
                self.emit(f"c{var.slot} = [_c{var.slot}]")

    def is_reassigned(self, var: LocalVar) -> bool:
        """Is ``var`` assigned anywhere after its declaration?  (One walk of
        the function's body, on first use, answers for every local.)"""
        if self.reassigned is None:
            self.reassigned = assigned_locals(self.node.body)
        return id(var) in self.reassigned

    def note_table_local(self, targets, exprs) -> None:
        """``local t = {...}`` with ``t`` never assigned again: ``t`` is
        always a table, so its fast paths need not test the type."""
        if len(targets) == 1 and len(exprs) == 1 and type(exprs[0]) is ast.Table:
            var = targets[0]
            if not var.captured and not self.is_reassigned(var):
                self.known_table.add(var.slot)

    def stat_LocalFunction(self, node: ast.LocalFunction) -> None:
        var = node.binding
        # lua5.4 makes the closure, straight into the local, on the line of
        # the function's ``end``.
        self.line = node.func.end_line
        if var.captured:
            self.emit(f"c{var.slot} = [None]", NO_LINE)
            self.emit(f"c{var.slot}[0] = {self.closure(node.func, var)}")
        else:
            self.emit(f"l{var.slot} = {self.closure(node.func)}")

    def stat_FunctionStat(self, node: ast.FunctionStat) -> None:
        self.assign([node.target], [node.func])

    def stat_Assign(self, node: ast.Assign) -> None:
        self.line = self.store_line(node)
        self.assign(node.targets, node.exprs)

    def store_line(self, node) -> int:
        """The line of a ``local`` or assignment statement: lua5.4 stores
        after the last expression (``end_line``), so one whose value is a
        single function is on the function's ``end`` line (closure and
        store alike)."""
        exprs = node.exprs
        if len(exprs) != 1:
            return node.line
        if type(exprs[0]) is ast.Function:
            if type(node) is ast.Local or type(node.targets[0]) is ast.Name:
                return exprs[0].end_line
            return node.line
        return max(node.line, end_line(exprs[0]))

    def assign(self, targets, exprs) -> None:
        if len(targets) == 1 and len(exprs) == 1:
            target = targets[0]
            if type(target) is ast.Name:
                self.store_name(target, self.expr(exprs[0]))
                return
            obj = self.expr(target.obj)
            obj = self.materialize(obj) if has_effects(target.key) or has_effects(exprs[0]) else obj
            key = self.expr(target.key)
            if has_effects(exprs[0]):
                key = self.materialize(key)
            value = self.expr(exprs[0])
            self.store_index(obj, key, value, target, exprs[0])
            return
        # Evaluate every target's table and key, then every value, then
        # assign (the reference assigns right to left).
        # A plain local read as a table or key must be copied when the same
        # statement assigns that local: ``t[a], a = 10, 20`` indexes with the
        # old ``a`` (lparser's check_conflict).
        assigned = {id(target.binding) for target in targets
                    if type(target) is ast.Name and type(target.binding) is LocalVar}
        places = []
        for target in targets:
            if type(target) is ast.Name:
                places.append((target, None, None))
            else:
                obj = self.place_operand(target.obj, assigned)
                key = self.place_operand(target.key, assigned)
                places.append((target, obj, key))
        if len(exprs) == len(targets) and not is_multi(exprs[-1]):
            # Copy every value before assigning any: ``a, b = b, a``.
            values = []
            for value in self.operands(exprs, force=True):
                copy = self.temp()
                self.emit(f"{copy} = {value}")
                values.append(copy)
        else:
            tuple_name = self.temp()
            self.emit(f"{tuple_name} = ADJUST({self.explist(exprs)}, {len(targets)})")
            values = [f"{tuple_name}[{i}]" for i in range(len(targets))]
        for (target, obj, key), value in reversed(list(zip(places, values))):
            if obj is None:
                self.store_name(target, value)
            else:
                self.store_index(obj, key, value, target)

    def place_operand(self, node, assigned: set) -> str:
        """A target's table or key, evaluated now and kept for the store."""
        value = self.expr(node)
        if type(node) is ast.Name and id(node.binding) in assigned:
            copy = self.temp()
            self.emit(f"{copy} = {value}")
            return copy
        return self.materialize(value)

    def store_name(self, target: ast.Name, value: str) -> None:
        binding = target.binding
        if type(binding) is LocalVar:
            if binding.captured:
                self.emit(f"c{binding.slot}[0] = {value}")
            else:
                self.emit(f"l{binding.slot} = {value}")
        elif type(binding) is UpvalRef:
            self.emit(f"u{binding.index}[0] = {value}")
        else:
            env = self.name_value(binding.env)
            self.emit(f"SETFIELD({env}, {self.string(binding.name)}, {value}, {self.env_desc(binding)!r})")

    def store_index(self, obj: str, key: str, value: str, target, value_node=None) -> None:
        desc = self.describe(target.obj)
        if type(target.key) is ast.String:
            self.emit(f"SETFIELD({obj}, {key}, {value}, {desc!r})")
            return
        if self.compact:
            self.emit(f"SETINDEX({obj}, {key}, {value}, {desc!r})")
            return
        never_nil_value = value_node is not None and never_nil(value_node, self)
        value = self.materialize(value)
        lines = templates.array_store(self.materialize(obj), self.materialize(key), value, desc,
                                      self.is_int(target.key), never_nil_value,
                                      self.is_table(target.obj), self.is_positive_int(target.key))
        plan = self.array_loop
        if plan is not None and (table := plan.table_at(target)) is not None:
            lines = plan.store(table, value, never_nil_value, lines)
        for line in lines:
            self.emit(line)

    def stat_Return(self, node: ast.Return) -> None:
        exprs = node.exprs
        if len(exprs) == 1 and type(exprs[0]) in (ast.Call, ast.MethodCall) and not self.inside_close():
            self.proto.has_tail_calls = True
            self.emit(f"return {self.tail_call(exprs[0])}")
            return
        if not exprs:
            self.emit("return ()")
        elif len(exprs) == 1 and type(exprs[0]) is ast.Vararg:
            self.emit("return va")
        elif len(exprs) == 1 and not is_multi(exprs[0]):
            value = self.expr(exprs[0])
            self.emit_return(f"({value},)", value)
        else:
            self.emit_return(self.explist(exprs), None)

    def inside_close(self) -> bool:
        """Whether a variable to be closed is in scope, so a ``return f()``
        is no tail call: ``f`` runs before the variable closes.  A generic
        ``for`` counts, its fourth value being one (lparser's insidetbc)."""
        return self.live_closes > 0 or any(
            type(context.node) is ast.GenericFor for context in self.contexts)

    def stat_Break(self, node: ast.Break) -> None:
        loop = None
        for context in reversed(self.contexts):
            if context.kind == "loop":
                loop = context
                break
        if self.contexts and self.contexts[-1] is loop:
            self.emit("break")
        else:
            loop.uses_exception = True
            self.emit(f"raise BreakJump({loop.ident})")

    def stat_Goto(self, node: ast.Goto) -> None:
        label_id = self.chunk.label_id(node.target)
        for depth, context in enumerate(reversed(self.contexts)):
            segment = context.labels.get(label_id)
            if segment is None:
                continue
            direct = depth == 0
            if segment == -1:  # a loop's trailing label: "continue"
                if direct:
                    self.emit("continue")
                    return
            elif direct and (context.closing is None or self.open_closes == context.closes_open):
                self.emit(f"{context.pc} = {segment}")
                self._close_above(context, segment)
                self.budget_tick()
                self.emit("continue")
                return
            context.uses_exception = True
            self.emit(f"raise GotoJump({label_id})")
            return
        raise AssertionError("goto target not in an enclosing block")

    def stat_If(self, node: ast.If) -> None:
        if self.indent >= FLAT_IF_INDENT and can_guard(node):
            self.guarded_if(node, None)
            return
        tests = [(cond, *self.capture_test(cond, body.line)) for cond, body in node.tests]
        if (len(tests) > MAX_ELIF_CHAIN
                or sum(1 for _, _, lines, _ in tests[1:] if lines) > MAX_NESTED_ELSE):
            self.flat_if(node, tests)
            return
        first = True
        opened = 0
        for (cond, body), (_, test, lines, calls) in zip(node.tests, tests):
            self.line = cond.line
            self.pending_calls += calls
            line = test_line(cond, body.line)
            if first:
                self.splice(lines)
                self.emit(f"if {test}:", line)
            elif lines:
                self.emit("else:", NO_LINE)
                self.indent += 1
                opened += 1
                self.splice(lines)
                self.emit(f"if {test}:", line)
            else:
                self.emit(f"elif {test}:", line)
            first = False
            self.indented(lambda: self.block(body))
        if node.orelse is not None and node.orelse.body:
            self.emit("else:", NO_LINE)
            self.indented(lambda: self.block(node.orelse))
        self.indent -= opened

    def capture_test(self, cond, then_line: int) -> tuple[str, list, list]:
        """A condition's test text, the statements it needs first, and the
        calls in its text (``pending_calls``) kept aside until it is
        emitted, so the bodies compiled meanwhile don't scan them.
        ``then_line`` is the line of its ``then``, where lua5.4 reads a
        condition that is a variable or a field (``test_line``)."""
        line = then_line if type(cond) in (ast.Name, ast.Index) else cond.line
        self.line = line
        saved = self.pending_calls
        self.pending_calls = []
        try:
            test, lines = self.capture(lambda: self.test(cond, line))
            return test, lines, self.pending_calls
        finally:
            self.pending_calls = saved

    def flat_if(self, node: ast.If, tests) -> None:
        """An ``elseif`` chain whose conditions need statements of their own.

        Nesting each in the previous ``else`` would indent the source
        without bound (CPython refuses 100 levels), and CPython compiles
        an ``elif`` chain by recursion, so a long one exhausts its stack.
        Instead the conditions run one after another until one holds,
        recording which in a temporary, and one ``if`` per body, all at the
        same depth, runs the chosen one.
        """
        chosen = self.choose_branch(tests, [body for _, body in node.tests], None)
        for number, body in branches(node):
            self.emit(f"if {chosen} == {number}:", body.line)
            self.indented(lambda: self.block(body))

    def choose_branch(self, tests, bodies, guard: str | None) -> str:
        """Run an ``if``'s conditions one after another until one holds; a
        temporary, returned, records which (0: none; -1: ``guard`` failed,
        so none ran).  ``tests`` are ``capture_test``'s, with their node,
        and ``bodies`` the blocks they choose."""
        chosen = self.temp()
        self.emit(f"{chosen} = 0" if guard is None else f"{chosen} = 0 if {guard} else -1")
        for number, ((cond, test, lines, calls), body) in enumerate(zip(tests, bodies), 1):
            self.line = cond.line
            wrapped = number > 1 or guard is not None
            if wrapped:
                self.emit(f"if not {chosen}:")
                self.indent += 1
            self.splice(lines)
            self.pending_calls += calls
            self.emit(f"if {test}: {chosen} = {number}", test_line(cond, body.line))
            if wrapped:
                self.indent -= 1
        return chosen

    def too_deep_for_a_loop(self) -> bool:
        """Would one more loop pass CPython's limits here: 20 nested blocks
        in a function, 100 levels of indentation in a module?"""
        blocks = 0
        closes = self.open_closes   # a ``try`` with ``except`` and ``finally``: two blocks each
        for context in reversed(self.contexts):
            if context.kind == "hoist":
                closes -= context.closes
                break
            # A label dispatcher is a loop and a ``try``.
            blocks += self.chunk.loop_blocks if context.kind == "loop" else 2
        else:
            blocks += 2                     # the function's own ``try``s
        return blocks + 2 * closes + 3 > MAX_BLOCKS or self.indent > HOIST_INDENT

    def hoist(self, compile_loop) -> None:
        """Compile a loop nested too deep as a function of its own.

        Its definition goes at the top of the Lua function's body (see
        ``hoisted_definitions``), so it starts again from CPython's first
        level of blocks and of indentation, and every name it uses is a
        ``nonlocal`` shared with that body.  Calling it runs the loop; it
        returns None, or what a ``return`` in it returns, which is returned
        at once.  A ``break`` or ``goto`` out of it is an exception, as
        from any inner Python loop (the ``hoist`` context in between).
        """
        number = len(self.hoisted)
        name = f"__h{number + 1}"
        self.hoisted.append((name, []))     # its number, before any hoisted inside it
        context = LoopContext("hoist", None, None)
        context.closes = self.open_closes
        self.contexts.append(context)
        try:
            _, lines = self.capture(lambda: (self.begin_frame(), compile_loop()))
        finally:
            self.contexts.pop()
        # Locals declared in it are left out of ``Proto.locvars``: the
        # markers count active locals in the order of the body's lines.
        self.hoisted[number] = (name, [entry for entry in lines if entry[1] is not None])
        self.emit(f"_h = {self.hoisted_call(name)}")
        self.emit("if _h is not None: return _h")

    def hoisted_call(self, name: str) -> str:
        return f"{name}()"

    def hoisted_definitions(self) -> list:
        """The definitions of the hoisted loops, for the top of the body:
        every name they use is first made a local of the body (parameters
        aside), then each is a function with those names ``nonlocal``."""
        base = 2        # the indentation of the Lua function's body
        used = {name: set(_GENERATED_NAME.findall("\n".join(entry[1] for entry in lines)))
                for name, lines in self.hoisted}
        parameters = {f"l{var.slot}" for var in self.scope.params} | {"va"}
        every = sorted(set().union(*used.values()) - parameters)
        definitions = []
        line = self.node.line
        if every:
            definitions.append((base, " = ".join(every) + " = None", NO_LINE))
        counting = self.st.options.count_steps
        for name, lines in self.hoisted:
            shared = (["_depth", "_steps"] if counting else []) + sorted(used[name])
            definitions.append((base, f"def {name}():", line))
            if shared:
                definitions.append((base + 1, f"nonlocal {', '.join(shared)}", line))
            definitions.extend((base + 1 + indent, *rest) for indent, *rest in lines)
        return definitions

    def guarded_if(self, node: ast.If, guard: str | None) -> None:
        """An ``if`` deep in nested code, compiled without indenting.

        CPython refuses 100 levels of indentation; lua5.4 nests 197 ``if``s.
        Past ``FLAT_IF_INDENT`` each ``if`` records which of its branches
        runs in a temporary, as ``flat_if`` does, and its bodies' statements
        run under a test of it at the same depth: an ``if`` in one of them
        is compiled the same way, guarded by that test (``guard``), so
        nesting adds no depth at all.
        """
        tests = [(cond, *self.capture_test(cond, body.line)) for cond, body in node.tests]
        chosen = self.choose_branch(tests, [body for _, body in node.tests], guard)
        for number, body in branches(node):
            self.guarded_block(body, f"{chosen} == {number}")

    def guarded_block(self, body: ast.Block, guard: str) -> None:
        """The statements of ``body`` under ``guard``, a run at a time; the
        ``if``s among them are ``guarded_if``s."""
        nactive = self.nactive
        run: list = []

        def run_under_guard():
            if run:
                statements = list(run)
                run.clear()
                self.line = statements[0].line
                self.emit(f"if {guard}:")
                self.indented(lambda: self.statements(statements))
        for stat in body.body:
            if type(stat) is ast.If and can_guard(stat):
                run_under_guard()
                first_temp, first_line = self.temps, len(self.out)
                self.line = stat.line
                self.guarded_if(stat, guard)
                self.let_go(first_temp, first_line)
            else:
                run.append(stat)
        run_under_guard()
        self.close_locals(nactive)

    def _loop(self, node, header_lines, header: str, prologue=None, until=None,
              chunks: str | None = None, loop_locals=(), header_line: int | None = None,
              array_loop=None) -> None:
        """Emit a Python loop for a Lua loop, handling exceptional jumps.

        With ``chunks`` (an expression yielding iterables whose iterations
        were charged in advance), the loop is two Python loops and the body
        carries no per-iteration accounting.  ``header_line`` is the Lua
        line of the loop's header(s), if not the statement's.  With
        ``array_loop`` (``(plan, charge)``: ``luapy.compile.array_loops``; charge None: uncounted code),
        ``charge`` charges each chunk, and a chunk the plan's guard holds
        for runs the plan's copy of the body.
        """
        if self.too_deep_for_a_loop():
            self.hoist(lambda: self._loop(node, header_lines, header, prologue, until, chunks, loop_locals,
                                          header_line, array_loop))
            return
        line = self.line
        if header_line is None:
            header_line = line
        # The countdown is charged on the body's first line (a line hook
        # sees no line of its own for it).
        stats = node.body.body
        tick_line = stats[0].line if stats else until.line if until is not None else line
        self.chunk.loops += 1
        ident = self.chunk.loops
        context = LoopContext("loop", ident, node)
        self.contexts.append(context)

        counter = self.temp() if self.st.options.count_steps and chunks is None else None

        def body():
            nactive = self.nactive
            if prologue:
                prologue()
            self.open_locals(loop_locals)
            if counter:
                self.line = tick_line
                self.loop_tick(counter)
                self.line = line
            self.body_or_pass(lambda: self.block(node.body, until))
            self.close_locals(nactive)
        _, lines = self.capture(body)
        if array_loop is not None:
            plan, charge = array_loop
            self.array_loop = plan
            try:
                _, copied = self.capture(body)
            finally:
                self.array_loop = None
        self.contexts.pop()
        self.splice(header_lines)
        quiet = QuietLine(line)
        if counter:
            self.emit(f"{counter} = 0", quiet)
        if chunks is not None:
            # for chunk in chunks: for var in chunk: body, where a break in
            # the body must also leave the outer loop (for/else idiom).
            self.emit(f"for _chunk in {chunks}:", header_line)
            self.indent += 1
        if array_loop is not None:
            # The copy runs the chunk until a slow path makes it stop
            # trusting its tables; the rest of the chunk runs the body.
            if charge is not None:
                self.emit(f"_chunk = {charge}", quiet)
            self.emit(f"if {plan.guard()}:", quiet)
            self.indent += 1
            for setup in plan.prologue():
                self.emit(setup, quiet)
            self.emit(header, header_line)
            self.indent += 1
            self.splice(copied)
            self.emit(f"if not _ok: _chunk = _chunk[{plan.loop_var} - _chunk.start + 1:]; break", quiet)
            self.indent -= 1
            self.emit("else:", quiet)
            self.emit("    continue", quiet)
            self.indent -= 1
        self.emit(header, header_line)
        self.indent += 1
        if context.uses_exception:
            # Jumps that had to cross an inner Python loop arrive as
            # exceptions: a break, or a goto to this body's trailing label.
            self.emit("try:", quiet)
            self.indent += 1
            self.splice(lines)
            self.indent -= 1
            self.emit("except BreakJump as _b:", quiet)
            self.emit(f"    if _b.target != {ident}: raise", quiet)
            self.emit("    break", quiet)
            if context.labels:
                targets = ", ".join(str(label) for label in context.labels)
                self.emit("except GotoJump as _g:", quiet)
                self.emit(f"    if _g.target not in ({targets},): raise", quiet)
        else:
            self.splice(lines)
        self.indent -= 1
        if chunks is not None:
            self.emit("else:", quiet)
            self.emit("    continue", quiet)
            self.emit("break", quiet)
            self.indent -= 1
        if type(node) is ast.GenericFor:
            # lua5.4 closes a generic for's hidden closing value on its
            # ``end`` line, however the loop ends.
            self.emit("pass", node.body.end_line)

    def stat_While(self, node: ast.While) -> None:
        test, lines = self.capture(lambda: self.test(node.cond))
        if not lines:
            # ``while true`` tests nothing in lua5.4: its jump back is to
            # the body's first line.
            self._loop(node, [], f"while {test}:", header_line=QuietLine(self.line) if test == "True" else None)
            return

        def prologue():
            self.splice(lines)
            self.emit(f"if not ({test}): break")
        self._loop(node, [], "while True:", prologue)

    def stat_Repeat(self, node: ast.Repeat) -> None:
        # lua5.4 has no code at ``repeat``: the body's first line is where
        # ``until`` jumps back to.
        self._loop(node, [], "while True:", until=node.cond, header_line=QuietLine(self.line))

    def stat_NumericFor(self, node: ast.NumericFor) -> None:
        step_node = node.step if node.step is not None else ast.Number(1, node.line)
        start, stop, step = self.operands([node.start, node.stop, step_node])
        var = node.binding
        loop_var = f"l{var.slot}" if not var.captured else "_fi"
        if (is_int_literal(node.start) and is_int_literal(step_node) and not var.captured
                and not self.is_reassigned(var)):
            self.known_int.add(var.slot)
            if node.start.value >= 1 and step_node.value > 0:
                self.known_positive.add(var.slot)

        def prologue():
            if var.captured:
                self.emit(f"c{var.slot} = [_fi]", NO_LINE)
        # lua5.4's three hidden locals are not kept: a Python range is.
        loop_locals = [(FOR_STATE, None)] * 3 + local_names((var,))
        # Charging iterations a chunk at a time keeps accounting out of the
        # body: the inner loop's header charges its chunk as it starts it.
        # CPython allows only 20 nested blocks, so deep nests use the
        # per-iteration countdown instead of a second Python loop.
        header_line = ForLine(self.line)
        counting = self.st.options.count_steps
        chunkable = len(self.contexts) < self.chunk.chunked_nesting
        plan = self.array_loop_plan(node, step_node) if chunkable else None
        # Without accounting, chunks are only worth it for an array copy
        # (and charge nothing).
        if plan or counting and chunkable:
            charged = ("(_chunk if (_steps := _steps - FOR_CHUNK) >= 0 else CHARGED(_chunk))"
                       if counting else None)
            # With an array copy, the chunk is charged before its guard.
            self._loop(node, [], f"for {loop_var} in {'_chunk' if plan else charged}:", prologue,
                       chunks=f"FORCHUNKS({start}, {stop}, {step})", loop_locals=loop_locals,
                       header_line=header_line, array_loop=(plan, charged) if plan else None)
        else:
            self._loop(node, [], f"for {loop_var} in FORRANGE({start}, {stop}, {step}):", prologue,
                       loop_locals=loop_locals, header_line=header_line)

    def array_loop_plan(self, node: ast.NumericFor, step_node):
        """The plan of a copy of the loop's body for array chunks
        (``luapy.compile.array_loops``), when the loop counts by one from a
        literal >= 1 and its body has the shape the copy needs."""
        if (self.compact or node.binding.slot not in self.known_positive
                or not (is_int_literal(step_node) and step_node.value == 1)
                or self.indent > ARRAY_LOOP_INDENT):
            return None
        return plan_array_loop(node)

    def stat_GenericFor(self, node: ast.GenericFor) -> None:
        values = self.explist(node.exprs)
        names = []
        for var in node.bindings:
            names.append(f"_g{var.slot}" if var.captured else f"l{var.slot}")
        count = len(names)
        target = names[0] if count == 1 else ", ".join(names)

        def prologue():
            for var in node.bindings:
                if var.captured:
                    self.emit(f"c{var.slot} = [_g{var.slot}]", NO_LINE)
        # lua5.4's four hidden locals (iterator, state, control, closing
        # value) are read through a weak reference to the loop's generator,
        # which GENFOR leaves in a fresh list: the loop alone owns it.
        state = f"_s{node.bindings[0].slot}"
        loop_locals = [(FOR_STATE, (state, i)) for i in range(4)] + local_names(node.bindings)
        # lua5.4 gives the iterator's call the line its expression list
        # starts on (forlist's ``line``), which may be after ``for ... in``.
        self.line = node.exprs[0].line
        self._loop(node, [], f"for {target} in GENFOR({values}, {count}, ({state} := [])):",
                   prologue, loop_locals=loop_locals)

    #: The compiler of each kind of statement.
    STATEMENTS = {
        ast.Label: stat_Label, ast.Do: stat_Do, ast.CallStat: stat_CallStat,
        ast.Local: stat_Local, ast.LocalFunction: stat_LocalFunction,
        ast.FunctionStat: stat_FunctionStat, ast.Assign: stat_Assign,
        ast.Return: stat_Return, ast.Break: stat_Break, ast.Goto: stat_Goto, ast.If: stat_If,
        ast.While: stat_While, ast.Repeat: stat_Repeat, ast.NumericFor: stat_NumericFor,
        ast.GenericFor: stat_GenericFor,
    }


def end_line(node) -> int:
    """The line an expression ends on, as far as the tree tells: that of
    its last operand's start, or of a function's ``end`` (a call's or a
    constructor's closing bracket is not kept: their own line)."""
    while True:
        kind = type(node)
        if kind is ast.BinOp:
            node = node.right
        elif kind is ast.UnOp:
            node = node.operand
        elif kind is ast.Function:
            return node.end_line
        else:
            return node.line


def test_line(cond, then_line: int) -> int:
    """The line of an ``if``'s test, ``then_line`` that of its ``then``.
    lua5.4 tests a value after reading ``then`` (a value read from a local
    has no code of its own, a call or a global has, on its own lines); a
    comparison jumps where it is, and so does an ``and``/``or`` here."""
    kind = type(cond)
    if kind is ast.Paren:
        return test_line(cond.expr, then_line)
    if kind is ast.UnOp and cond.op == "not":
        return test_line(cond.operand, then_line)
    if kind is ast.BinOp:
        return cond.right.line if cond.op in COMPARISONS else cond.line
    if kind is ast.TrueExpr:
        return cond.line
    return then_line


def branches(node: ast.If) -> list:
    """``(number, body)`` of each branch as ``choose_branch`` numbers them:
    the ``else`` is 0."""
    numbered = [(number, body) for number, (_, body) in enumerate(node.tests, 1)]
    if node.orelse is not None:
        numbered.append((0, node.orelse))
    return numbered


def can_guard(node: ast.If) -> bool:
    """Can ``node``'s bodies run a statement at a time (``guarded_if``)?
    Not with a label (its block jumps by a dispatcher) or a ``<close>``
    variable (the rest of its block runs inside a ``try``)."""
    blocks = [body for _, body in node.tests]
    if node.orelse is not None:
        blocks.append(node.orelse)
    return not any(type(stat) is ast.Label or declares_close(stat)
                   for block in blocks for stat in block.body)
