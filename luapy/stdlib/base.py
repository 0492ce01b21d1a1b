"""The basic functions (manual §6.1), installed straight into ``_G``."""

from __future__ import annotations

import functools
import sys

from ..errors import ArgumentError, LuaError, LuaException, LuaLimitError, LuaSyntaxError, StackOverflow
from ..load import load_chunk, skip_file_header
from ..runtime import ops
from ..runtime.collector import Collector
from ..runtime.frames import COROUTINE_BASE_CODES, ERROR_FRAMES, ERROR_LINES, PROTECTED_CODES
from ..runtime.generators import call_generator
from ..runtime.helpers import lua_where, unwinding_value, where_from
from ..runtime.stack import interrupt_caught
from ..runtime.args import (
    arg, arg_error, check_any, check_function, check_int, check_str, check_table, name_argument_error, opt_int, opt_str,
    register, str_to_number, type_error,
)
from ..runtime.values import (
    MAXINT, Function, Table, number_to_str, type_name, wrap_int,
)

LUA_VERSION = "Lua 5.4"
#: ``print`` joins a line no longer than this and makes one write; a longer
#: one is written piece by piece.
PRINT_JOIN_BYTES = 64 * 1024
_SPACE = " \f\n\r\t\v"
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def open(st) -> None:
    G = st.globals
    collector = st.collector = Collector(st)
    if st.options.profile == "sandbox":
        # The host owns a sandbox's output: warnings go where print goes
        # (``LuaRuntime.set_output``), so a host's bounds on that output
        # bound them too, instead of going straight to its stderr.
        collector.write_warning = lambda text: st.write_stdout(text)
    call = ops.call
    tostring = ops.tostring

    def lua_print(*args):
        pieces = [tostring(st, a) for a in args]
        if sum(map(len, pieces)) <= PRINT_JOIN_BYTES:
            st.write_stdout("\t".join(pieces) + "\n")
            return ()
        # lua5.4 writes each piece: a joined line would be an uncharged
        # copy of every argument (print(s, s, s, ...) of a long s).
        for n, piece in enumerate(pieces):
            if n:
                st.write_stdout("\t")
            st.write_stdout(piece)
        st.write_stdout("\n")
        return ()

    def lua_type(*args):
        check_any(args, 1, "type")
        return (type_name(args[0]),)

    def lua_tostring(*args):
        if args and type(args[0]) is str:
            return (args[0],)  # what ops.tostring gives a string
        check_any(args, 1, "tostring")
        return (tostring(st, args[0]),)

    def lua_tonumber(*args):
        if len(args) < 2 or args[1] is None:
            value = check_any(args, 1, "tonumber")
            t = type(value)
            if t is int or t is float:
                return (value,)
            if t is str:
                return (str_to_number(value),)
            return (None,)
        base = check_int(args, 2, "tonumber")
        value = args[0]
        if type(value) is not str:
            type_error(args, 1, "tonumber", "string")
        if not 2 <= base <= 36:
            arg_error(2, "tonumber", "base out of range")
        return (_parse_in_base(st, value, base),)

    def lua_ipairs(*args):
        check_any(args, 1, "ipairs")
        return ipairs_iterator, args[0], 0

    def ipairs_step(*args):
        # ipairsaux: any first value (indexing decides), an integer control
        # that wraps like lua_Integer.
        table = args[0] if args else None
        i = wrap_int(check_int(args, 2, "?") + 1)
        if type(table) is Table and table.meta is None:
            value = table.get(i)
        else:
            value = ops.index(st, table, i)
        if value is None:
            return (None,)
        return i, value

    ipairs_iterator = Function(ipairs_step, "ipairs_iterator")

    def charge_traversal(steps: int, memory: int = 0) -> None:
        """What ``Table.next`` charges beyond O(1): its work, and the
        memory of the snapshots it keeps."""
        if memory:
            st.charge_memory(memory)
        st.charge(steps)

    def lua_next(*args):
        table = check_table(args, 1, "next")
        found = table.next(arg(args, 2), charge_traversal)
        return found if found is not None else (None,)

    next_function = Function(lua_next, "next")

    def lua_pairs(*args):
        value = check_any(args, 1, "pairs")
        handler = ops.metamethod(st, value, "__pairs")
        if handler is not None:
            results = call(st, handler, (value,))
            return (*results, None, None, None)[:3]
        # Like lua5.4, a non-table only fails when the loop calls ``next``.
        return next_function, value, None

    def pairs_generator(*args):
        """``pairs`` in generator form: ``__pairs`` may yield."""
        value = check_any(args, 1, "pairs")
        handler = ops.metamethod(st, value, "__pairs")
        if handler is None:
            return next_function, value, None
        results = yield from call_generator(st, handler, (value,))
        return (*results, None, None, None)[:3]

    def lua_rawget(*args):
        table = check_table(args, 1, "rawget")
        check_any(args, 2, "rawget")
        return (table.get(args[1]),)

    def lua_rawset(*args):
        table = check_table(args, 1, "rawset")
        check_any(args, 2, "rawset")
        check_any(args, 3, "rawset")
        ops.rawset(st, table, args[1], args[2])
        return (table,)

    def lua_rawequal(*args):
        check_any(args, 1, "rawequal")
        check_any(args, 2, "rawequal")
        return (ops.raw_equals(args[0], args[1]),)

    def lua_rawlen(*args):
        value = arg(args, 1)
        if type(value) is Table:
            return (value.length(),)
        if type(value) is str:
            return (len(value),)
        type_error(args, 1, "rawlen", "table or string")

    def lua_setmetatable(*args):
        table = check_table(args, 1, "setmetatable")
        meta = arg(args, 2)
        if len(args) < 2 or (meta is not None and type(meta) is not Table):
            type_error(args, 2, "setmetatable", "nil or table")
        if table.meta is not None and table.meta.get("__metatable") is not None:
            raise LuaError("cannot change a protected metatable")
        table.meta = meta
        collector.track(table, meta)
        return (table,)

    def lua_getmetatable(*args):
        check_any(args, 1, "getmetatable")
        meta = ops.metatable(st, args[0])
        if meta is None:
            return (None,)
        protected = meta.get("__metatable")
        return (protected if protected is not None else meta,)

    def lua_assert(*args):
        if not args:
            arg_error(1, "assert", "value expected")
        if args[0] is None or args[0] is False:
            # lua5.4 hands the message to error(): a string gets a position.
            message = args[1] if len(args) >= 2 else "assertion failed!"
            raise LuaError(message, level=1 if type(message) is str else 0)
        return args

    def lua_error(*args):
        value = arg(args, 1)
        level = opt_int(args, 2, "error", 1)
        if type(value) is str and level > 1:
            where = lua_where(level)
            if not where:
                raise LuaError(value, level=0)
            ops.charge_string(st, len(where) + 1 + len(value))  # a copy
            raise LuaError(f"{where} {value}", level=0)
        if type(value) is str and level == 1:
            raise LuaError(value, level=1)  # positioned by the caller's handler
        raise LuaError(value, level=0)

    def protected_call(fn, args, handler=NO_HANDLER):
        """``pcall``'s core: ``(True, results)`` or ``(False, the error)``.
        ``handler``, xpcall's message handler, is found here by an error
        that closes variables before it gets here (``handle_unwinding``).

        Protected calls nest like lua5.4's C calls: the 200th inside
        another fails with "C stack overflow" (LUAI_MAXCCALLS), which is
        what ends a recursion through ``pcall`` well before Python's stack
        or the memory do."""
        depth = st.depth
        nested = st.protected_calls
        if nested >= LUAI_MAXCCALLS:
            return False, LuaError("C stack overflow", level=0)
        st.protected_calls = nested + 1
        try:
            return True, call(st, fn, args)
        except LuaLimitError:  # a budget is the host's: never Lua's to catch
            raise
        except LuaError as error:
            st.depth = depth
            interrupt_caught(error)
            if type(error) is ArgumentError:
                name_argument_error(st, error)
            return False, error
        finally:
            st.protected_calls = nested

    def lua_pcall(*args):
        ok, outcome = protected_call(check_any(args, 1, "pcall"), args[1:])
        return (True, *outcome) if ok else (False, outcome.value)

    def lua_xpcall(*args):
        # luaB_xpcall checks only the handler; a bad ``fn`` fails inside.
        handler = check_function(args, 2, "xpcall")
        fn = args[0]
        ok, outcome = protected_call(fn, args[2:], handler)
        return (True, *outcome) if ok else (False, _handled_value(st, handler, outcome))

    def protected_generator(fn, args, handler=NO_HANDLER):
        """``protected_call`` in generator form (a yield crosses it).  The
        depth is restored relative to the running coroutine's resumer,
        which may be another one than when the call started."""
        coroutine = st.coroutines.current
        depth = st.depth - coroutine.base
        closing = coroutine.closing
        try:
            return True, (yield from call_generator(st, fn, args))
        except LuaLimitError:
            raise
        except LuaError as error:
            if coroutine.closing and not closing:
                # coroutine.close unwinds past every pcall it finds
                # suspended; one made by a ``__close`` it runs catches.
                raise
            st.depth = coroutine.base + depth
            interrupt_caught(error)
            if type(error) is ArgumentError:
                name_argument_error(st, error)
            return False, error

    def pcall_generator(*args):
        ok, outcome = yield from protected_generator(check_any(args, 1, "pcall"), args[1:])
        return (True, *outcome) if ok else (False, outcome.value)

    def xpcall_generator(*args):
        handler = check_function(args, 2, "xpcall")
        fn = args[0]
        ok, outcome = yield from protected_generator(fn, args[2:], handler)
        return (True, *outcome) if ok else (False, _handled_value(st, handler, outcome))

    def handle_unwinding(error, frame):
        """An error is about to close a ``<close>`` variable of ``frame``:
        lua5.4 has run xpcall's message handler by then (where the error
        was raised), and the variable's ``__close`` gets what it returned."""
        if error.handled or error.unhandled or isinstance(error, LuaLimitError):
            return
        tb = error.__traceback__
        own = tb is not None and tb.tb_frame is frame
        if error.level and not own:
            # Raised by a builtin ``__close`` of ``frame`` as its block
            # ended: only the frame's own error handler can position it,
            # and xpcall runs the message handler once it has.
            return
        handler = error.handler
        if handler is None:
            closing = st.coroutines is not None and st.coroutines.current.closing
            handler = error.handler = _message_handler_for(frame, closing)
        if handler is NO_HANDLER:
            # Every frame it closes next is below the same protected call:
            # one search per error, not one per frame (a deep unwinding).
            error.unhandled = True
            return
        if error.level == 1:
            unwinding_value(st, error)
        elif error.level > 1:
            where = where_from(frame, error.level - 1)
            if where:
                error.locate(where)
        error.level = 0
        # ``frame`` is live above the handler, at the line the error left
        # it.  The handler runs on top of the deepest frame, with lua5.4's
        # extra room for handling a stack overflow (a tenth more levels),
        # once: a handler running inside another gets none, or nested
        # handlers would stack their extra levels without end.
        nonlocal handling
        if own:
            ERROR_LINES[id(frame)] = tb.tb_lineno
        depth = st.depth
        if not handling:
            st.depth = max(depth - HANDLER_LEVELS, 0)
        handling += 1
        try:
            error.value = _run_handler(st, handler, error)
        finally:
            handling -= 1
            st.depth = depth
            ERROR_LINES.pop(id(frame), None)
        error.handled = True

    HANDLER_LEVELS = min(max(st.max_depth // 10, 1), MAX_HANDLER_LEVELS)
    handling = 0   # message handlers running inside one another

    PROTECTED_CODES.update((protected_call.__code__, protected_generator.__code__))
    st.handle_unwinding = handle_unwinding

    def reader_pieces(reader):
        """What a ``load`` reader function returns, piece by piece."""
        while True:
            piece = ops.call1(st, reader)
            if piece is None or piece == "":
                return
            if type(piece) in (int, float):
                piece = number_to_str(piece)
            elif type(piece) is not str:
                where = lua_where(1)  # luaL_error's: the line that called load
                raise LuaError(f"{where} reader function must return a string" if where else
                               "reader function must return a string", level=0)
            st.charge_memory(len(piece))
            yield piece

    def lua_select(*args):
        n = arg(args, 1)
        if n == "#":
            return (len(args) - 1,)
        i = check_int(args, 1, "select")
        ops.charge_work(st, len(args))  # the values returned are copied
        count = len(args) - 1
        if i < 0:
            i = count + i
            if i < 0:
                arg_error(1, "select", "index out of range")
            return args[1 + i:]
        if i == 0:
            arg_error(1, "select", "index out of range")
        return args[i:]

    def lua_warn(*args):
        pieces = [check_str(args, n, "warn") for n in range(1, max(len(args), 1) + 1)]
        if not collector.warnings_on:
            # Off, only a one-piece message means anything (a control
            # message): the pieces of others are dropped, never joined (an
            # uncharged copy of every piece).
            if len(pieces) == 1:
                collector.warn(pieces[0])
            return ()
        if len(pieces) > 1:
            ops.charge_string(st, sum(map(len, pieces)))
        for piece in pieces[:-1]:
            collector.warn(piece, to_be_continued=True)
        collector.warn(pieces[-1])
        return ()

    def lua_load(*args):
        # luaB_load's order of checks: mode, then the chunk name, then
        # (for a reader) the chunk itself.  Numbers load as strings.
        chunk = args[0] if args else None
        text = chunk if type(chunk) is str else number_to_str(chunk) if type(chunk) in (int, float) else None
        mode = opt_str(args, 3, "load", "bt")
        if text is not None:
            chunkname = opt_str(args, 2, "load", text)
            pieces = iter((text,))
        else:
            chunkname = opt_str(args, 2, "load", "=(load)")
            if type(chunk) is not Function:
                type_error(args, 1, "load", "function")
            pieces = reader_pieces(chunk)
        try:
            # The first piece decides text or binary, as lua_load's first
            # byte does, before the reader is asked for more.
            first = next(pieces, "")
            kind = "binary" if first.startswith("\x1b") else "text"
            if kind[0] not in mode:
                return None, f"attempt to load a {kind} chunk (mode is '{mode}')"
            text = first + "".join(pieces)
        except LuaLimitError:
            raise
        except LuaError as error:  # lua_load returns a reader's error
            return None, error.value
        env = args[3] if len(args) >= 4 else st.globals
        try:
            # Parsing and compiling are the caller's work: charged.
            return (load_chunk(st, text, chunkname, env, charged=True),)
        except LuaSyntaxError as error:
            return None, error.value

    def lua_collectgarbage(*args):
        option = arg(args, 1)
        if option is None:
            option = "collect"
        option = check_str(args, 1, "collectgarbage") if option != "collect" else option
        if collector.finalizing and option in _COLLECT_OPTIONS:
            return (None,)  # lua_gc refuses every option inside a finalizer
        if option == "count":
            return (_accounted_kilobytes(st, collector),)
        if st.options.profile == "sandbox":
            arg_error(1, "collectgarbage", f"invalid option '{option}'")
        for n in range(2, 2 + _INTEGER_ARGUMENTS.get(option, 0)):
            opt_int(args, n, "collectgarbage", 0)  # luaL_optinteger: checked, not used
        if option in ("collect", "step"):
            collector.collect()
            # A collection is the call's own time, and may be long enough
            # that the clock must be looked at right after it.
            st.budget_check()
            return (0,) if option == "collect" else (True,)
        if option == "isrunning":
            return (collector.running,)
        if option in ("stop", "restart"):
            collector.set_running(option == "restart")
            return (0,)
        if option in ("incremental", "generational"):
            previous, collector.mode = collector.mode, option
            return (previous,)
        if option in ("setpause", "setstepmul"):
            return (200 if option == "setpause" else 100,)
        arg_error(1, "collectgarbage", f"invalid option '{option}'")

    functions = {
        "print": lua_print, "type": lua_type, "tostring": lua_tostring,
        "tonumber": lua_tonumber, "ipairs": lua_ipairs, "pairs": lua_pairs,
        "rawget": lua_rawget, "rawset": lua_rawset, "rawequal": lua_rawequal,
        "rawlen": lua_rawlen, "setmetatable": lua_setmetatable,
        "getmetatable": lua_getmetatable, "assert": lua_assert, "error": lua_error,
        "pcall": lua_pcall, "xpcall": lua_xpcall, "select": lua_select,
        "load": lua_load, "collectgarbage": lua_collectgarbage, "warn": lua_warn,
    }
    for name, func in functions.items():
        register(G, name, func)
    G.get("pairs").give_generator_form(pairs_generator)
    G.get("pcall").give_generator_form(pcall_generator)
    G.get("xpcall").give_generator_form(xpcall_generator)
    G.set("next", next_function)
    G.set("_G", G)
    G.set("_VERSION", LUA_VERSION)
    st.next_function = next_function
    st.ipairs_iterator = ipairs_iterator
    if st.options.profile == "standard":
        _open_file_loaders(st, G)
    return None


#: lua5.4's limit on nested C calls (``LUAI_MAXCCALLS``).
LUAI_MAXCCALLS = 200



#: What a protected call that is not xpcall's has for a message handler.
NO_HANDLER = object()
#: At most this many extra levels for a message handler run at the deepest
#: frame (lua5.4 gives a tenth of its C stack): within the Python frames
#: ``stack.recursion_limit_for`` keeps spare.
MAX_HANDLER_LEVELS = 200


def _message_handler_for(frame, closing: bool):
    """The message handler of the protected call an error unwinding
    ``frame`` will end in: xpcall's, else ``NO_HANDLER`` (pcall, or no
    call of either kind in the running coroutine).  ``closing``: the
    running coroutine is being closed, and the protected calls it was
    suspended in let errors by (``protected_generator``)."""
    boundaries = _unhandled_boundaries()
    while frame is not None:
        code = frame.f_code
        if code in PROTECTED_CODES and not (closing and frame.f_locals.get("closing") is False):
            return frame.f_locals.get("handler", NO_HANDLER)
        if code in boundaries:
            return NO_HANDLER
        frame = frame.f_back
    return NO_HANDLER


@functools.cache
def _unhandled_boundaries() -> frozenset:
    """Where an error stops before any protected call further out: where a
    coroutine was resumed (a coroutine starts with no handler), a
    finalizer, a message handler itself (lua5.4 runs those with none), and
    a call from Python."""
    from . import corolib  # noqa: F401  (registers COROUTINE_BASE_CODES)
    from ..api import LuaRuntime
    # (A host function calling back into Lua may catch the error, as a C
    # function's lua_pcall would: its handler is not xpcall's.)
    return frozenset((*COROUTINE_BASE_CODES, Collector._run_pending.__code__, _run_handler.__code__,
                      LuaRuntime._call_here.__code__))


def _handled_value(st, handler, error: LuaError):
    """What xpcall returns for ``error``: what its message handler made of
    it, run now unless it ran while the error closed variables."""
    if error.handled:
        return error.value
    return _run_handler(st, handler, error)


def keep_error_lines(tb) -> list:
    """The frames of traceback ``tb``, innermost first, each recorded in
    ``ERROR_LINES`` at the line the error left it on, until
    ``forget_error_lines`` is given their ids."""
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        ERROR_LINES[id(tb.tb_frame)] = tb.tb_lineno
        tb = tb.tb_next
    frames.reverse()
    return frames


def forget_error_lines(frame_ids) -> None:
    for frame_id in frame_ids:
        ERROR_LINES.pop(frame_id, None)


#: C levels lua5.4 has in use when it first calls an xpcall's message
#: handler at the top level of a script (``lua`` or lupa): the host's
#: protected call and ``xpcall`` itself.
_HANDLER_BASE_LEVELS = 2


def _run_handler(st, handler, error: LuaError):
    """Call xpcall's message handler on ``error``; what it returns.

    A handler that raises is called again on its own error, as lua5.4's
    ``luaG_errormsg`` does, each call one C level deeper (``st.protected_calls``
    counts them, so pcalls inside the handler have less room each time): the
    call at LUAI_MAXCCALLS is given "C stack overflow", and past a tenth
    more the result is LUA_ERRERR, "error in error handling".  At the top
    level of a script that is lua5.4's 198th and 216th call.
    """
    key = id(sys._getframe())
    value = error.value
    levels = st.protected_calls
    try:
        for level in range(levels + _HANDLER_BASE_LEVELS + 1, LUAI_MAXCCALLS // 10 * 11 - 1):
            st.protected_calls = level - _HANDLER_BASE_LEVELS
            # The first entry is the protected call (or this frame) that caught it.
            frames = keep_error_lines(error.__traceback__.tb_next if error.__traceback__ is not None else None)
            ERROR_FRAMES[key] = frames
            try:
                results = ops.call(st, handler, (value,))
            except LuaLimitError:
                raise
            except LuaError as raised:
                if type(raised) is StackOverflow and type(error) is StackOverflow:
                    # lua5.4 runs the handler of a stack overflow on top of
                    # the full stack, in the room kept for it: overflowing
                    # that is LUA_ERRERR at once, not another call.
                    break
                error = raised
                value = "C stack overflow" if level + 1 == LUAI_MAXCCALLS else raised.value
                continue
            finally:
                del ERROR_FRAMES[key]
                forget_error_lines(map(id, frames))
            return results[0] if results else None
        return "error in error handling"
    finally:
        st.protected_calls = levels


#: How many optional integer arguments each option of ``collectgarbage``
#: takes after it (lbaselib.c reads them with ``luaL_optinteger``).
_INTEGER_ARGUMENTS = {"step": 1, "setpause": 1, "setstepmul": 1, "generational": 2, "incremental": 3}
#: The options of ``collectgarbage`` (lbaselib.c's ``opts``).
_COLLECT_OPTIONS = frozenset(("stop", "restart", "collect", "count", "step", "setpause", "setstepmul",
                              "isrunning", "generational", "incremental"))


def _accounted_kilobytes(st, collector) -> float:
    """``collectgarbage("count")``: what the memory budget has charged, or
    without one, the process's memory (``Collector.kilobytes_in_use``); the
    sandbox never sees that, which would let a plugin watch its host."""
    if st.limits.memory is None and st.options.profile != "sandbox":
        return collector.kilobytes_in_use()
    return max(st.memory_at_entry - st.memory_left, 0) / 1024.0


#: Digits ``_parse_in_base`` converts per ``int`` call: few enough that
#: each call is cheap (CPython's ``int`` is quadratic in non-power-of-two
#: bases), many enough that the Python loop runs rarely.
_BASE_CHUNK = 12


def _parse_in_base(st, text: str, base: int):
    """``tonumber(text, base)``: luaB_tonumber's ``l_str2int``, linear in
    the length of ``text`` and charged for it before the work: a step per
    chunk, each a turn of a Python loop."""
    st.charge(1 + len(text) // _BASE_CHUNK)
    text = text.strip(_SPACE)
    negative = text.startswith("-")
    if negative or text.startswith("+"):
        text = text[1:]
    digits = _DIGITS[:base] + _DIGITS[10:base].upper()
    if not text or text.lstrip(digits):
        return None
    value = 0
    # The result wraps around 64 bits, so it only needs the digits taken
    # modulo 2**64, a chunk at a time.
    for i in range(0, len(text), _BASE_CHUNK):
        chunk = text[i:i + _BASE_CHUNK]
        value = (value * base ** len(chunk) + int(chunk, base)) & 0xFFFFFFFFFFFFFFFF
    value = wrap_int(value)
    return wrap_int(-value) if negative else value


def _open_file_loaders(st, G: Table) -> None:
    """``dofile`` and ``loadfile``: the command-line profile only."""

    def read_source(filename):
        """A file's text and chunk name as ``luaL_loadfilex`` reads them;
        raises ``LuaError`` with its "cannot open/read" message."""
        if filename is None:
            data = sys.stdin.buffer.read()
            return data.decode("latin-1"), "=stdin"
        path = filename.partition("\0")[0]  # fopen takes a C string
        try:
            with open_file(path) as handle:
                data = handle.read()
        except OSError as error:
            # fopen opens a directory; reading it is what fails.
            what = "read" if isinstance(error, IsADirectoryError) else "open"
            raise LuaError(f"cannot {what} {path}: {error.strerror}")
        return data.decode("latin-1"), "@" + filename

    def lua_loadfile(*args):
        filename = arg(args, 1)
        if filename is not None:
            filename = check_str(args, 1, "loadfile")
        mode = opt_str(args, 2, "loadfile", "bt")
        env = args[2] if len(args) >= 3 else st.globals
        try:
            text, chunkname = read_source(filename)
        except LuaError as error:
            return None, error.value
        if filename is not None:
            # checkmode (ldo.c) looks at the first byte after any '#' line,
            # not at the newline kept for line numbers.
            commented = text.removeprefix("\xef\xbb\xbf").startswith("#")
            text = skip_file_header(text)
        else:
            commented = False
        kind = "binary" if text[commented:].startswith("\x1b") else "text"
        if kind[0] not in mode:
            return None, f"attempt to load a {kind} chunk (mode is '{mode}')"
        if kind == "binary":
            text = text[commented:]  # no line numbers to keep
        try:
            return (load_chunk(st, text, chunkname, env),)
        except LuaSyntaxError as error:
            return None, error.value

    def load_for_dofile(args):
        result = lua_loadfile(*args[:1])
        if result[0] is None:
            raise LuaError(result[1])
        return result[0]

    def lua_dofile(*args):
        return ops.call(st, load_for_dofile(args), ())

    def dofile_generator(*args):
        """``dofile`` in generator form: the chunk may yield (lua_callk)."""
        return (yield from call_generator(st, load_for_dofile(args), ()))

    register(G, "loadfile", lua_loadfile)
    register(G, "dofile", lua_dofile)
    G.get("dofile").give_generator_form(dofile_generator)


def open_file(filename: str):
    import builtins
    return builtins.open(filename.encode("latin-1"), "rb")


__all__ = ["LUA_VERSION", "LuaException", "MAXINT", "open"]
