"""The deep-stack thread and the stack figures (``luapy.runtime.stack``), and
the ``LuaRuntime`` calls the command is built on."""

import gc
import signal
import threading
import time
import weakref

import pytest

from luapy import UNLIMITED, LuaError, LuaRuntime
from luapy.runtime import stack


def deep_runtime(**options):
    return LuaRuntime(profile="standard", limits=UNLIMITED, **options)


def test_figures_fit_the_unlimited_depth():
    assert UNLIMITED.depth > stack.DEEP_STACK_THRESHOLD
    assert stack.recursion_limit_for(UNLIMITED.depth) <= stack.DEEP_RECURSION_LIMIT


def test_start_thread_runs_the_target_with_the_stack_asked_for():
    seen = []
    thread = stack.start_thread(lambda: seen.append(threading.stack_size()), name="t",
                                stack_bytes=8 * 1024 * 1024)
    thread.join()
    assert len(seen) == 1
    assert threading.stack_size() == 0  # the process-wide setting is put back


def test_deep_recursion_runs_on_the_deep_stack_thread():
    lua = deep_runtime()
    assert lua.eval("(function(n) local function d(n) if n == 0 then return 0 end "
                    "return 1 + d(n - 1) end return d(n) end)(20000)") == 20000


def test_an_idle_executor_lets_go_of_its_runtime():
    lua = deep_runtime()
    lua.execute("x = {}")
    alive = weakref.ref(lua)
    del lua
    gc.collect()
    assert alive() is None


def test_call_all_keeps_the_number_of_results():
    lua = deep_runtime(encoding=None)
    assert lua.call_all(lua.eval("function() end")) == ()
    assert lua.call_all(lua.eval("function() return nil end")) == (None,)
    assert lua.call_all(lua.eval("function(...) return ... end"), 1, None, b"x", None) == (1, None, b"x", None)
    with pytest.raises(LuaError, match="attempt to call a nil value"):
        lua.call_all(None)


class Stop(LuaError):
    def __init__(self):
        super().__init__("stopped")


def run_in_background(lua, code):
    outcome = []

    def target():
        try:
            outcome.append(lua.execute(code))
        except BaseException as error:  # noqa: BLE001 - handed to the test
            outcome.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    return thread, outcome


def test_interrupt_raises_in_the_running_code():
    lua = deep_runtime()
    assert not lua.interrupt(Stop)  # nothing running
    thread, outcome = run_in_background(lua, "started = true while true do end")
    while not lua.globals()["started"]:
        thread.join(0.01)
    assert lua.interrupt(Stop)
    thread.join(30)
    assert not thread.is_alive()
    assert isinstance(outcome[0], Stop)
    assert lua.eval("1 + 1") == 2  # the runtime goes on serving calls


def test_an_interrupt_that_is_a_lua_error_can_be_caught_by_pcall():
    lua = deep_runtime()
    thread, outcome = run_in_background(
        lua, "local ok, e = pcall(function() started = true while true do end end) return ok, e")
    while not lua.globals()["started"]:
        thread.join(0.01)
    lua.interrupt(Stop)
    thread.join(30)
    assert outcome == [(False, "(execute):1: stopped")]  # positioned like any error


def test_an_interrupt_lost_in_python_code_that_swallows_it_is_delivered_again():
    # CPython drops an asynchronous exception that lands in a finalizer or
    # a weakref/collection callback ("Exception ignored in ..."): what made
    # the luapy command's Ctrl-C test hang now and then.  A Python function
    # that swallows it stands for those here.
    lua = deep_runtime()
    started, swallowed = threading.Event(), []

    def swallow():
        started.set()
        try:
            while not swallowed:   # spins until the interrupt lands here
                pass
        except Stop:
            swallowed.append(True)

    lua.globals()["swallow"] = swallow
    thread, outcome = run_in_background(
        lua, "local ok, e = pcall(function() swallow() while true do end end) return ok, e")
    started.wait(30)
    assert lua.interrupt(Stop)
    thread.join(10)
    lost = thread.is_alive()
    if lost:  # end the loop before failing
        lua.interrupt(Stop)
        thread.join(30)
    assert not lost
    assert swallowed == [True]
    assert outcome == [(False, "(execute):1: stopped")]
    assert not stack._undelivered  # caught: delivered no more
    assert lua.eval("1 + 1") == 2


def test_an_interrupt_pcall_caught_is_not_delivered_again():
    lua = deep_runtime()
    thread, outcome = run_in_background(lua, """
        local ok, e = pcall(function() started = true while true do end end)
        local t = os.clock()
        while os.clock() - t < 4 * ... do end   -- past a redelivery
        return ok, e, "went on"
    """.replace("...", repr(stack.REDELIVER_EVERY)))
    while not lua.globals()["started"]:
        thread.join(0.01)
    assert lua.interrupt(Stop)
    thread.join(30)
    assert outcome == [(False, "(execute):2: stopped", "went on")]


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="POSIX signals")
def test_a_signal_the_deep_stack_thread_receives_is_handled_while_the_main_thread_waits():
    # The kernel may hand a process's SIGINT to any of its threads; Python
    # runs the handler on the main thread, which must not sleep through it
    # while it waits for the call (the luapy command's Ctrl-C hung so).
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers run on the main thread")
    lua = deep_runtime()
    handled, fallback = [], []
    previous = signal.signal(signal.SIGUSR1, lambda *_: handled.append(lua.interrupt(Stop)))

    def send():
        while not lua.globals()["started"]:
            time.sleep(0.01)
        signal.pthread_kill(lua._executor.thread.ident, signal.SIGUSR1)
        time.sleep(10)
        if not handled:
            fallback.append(lua.interrupt(Stop))

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        with pytest.raises(Stop):
            lua.execute("started = true while true do end")
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert handled == [True] and not fallback
