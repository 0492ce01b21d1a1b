"""A runtime's lifetime: dropping it frees it, closing it settles its files."""

from __future__ import annotations

import gc
import threading
import weakref

from luapy import LuaRuntime


class _Owner:
    """Holds a runtime and receives its output: a cycle through ``set_output``."""

    def __init__(self):
        self.lines = []
        self.runtime = LuaRuntime()
        self.runtime.set_output(self.write)  # a bound method: leads back to the owner

    def write(self, text: str) -> None:
        self.lines.append(text)


def test_a_runtime_whose_output_callback_leads_back_to_it_is_freed():
    owner = _Owner()
    owner.runtime.execute("print('hi')")
    assert owner.lines == ["hi\n"]
    runtime = weakref.ref(owner.runtime)
    del owner
    gc.collect()
    assert runtime() is None


def test_a_dropped_runtime_with_suspended_coroutines_is_freed_and_made_no_thread():
    before = threading.active_count()
    owner = _Owner()
    owner.runtime.execute("""
        for i = 1, 5 do
            local co = coroutine.wrap(function() coroutine.yield() end)
            co()
            _G["co" .. i] = co
        end""")
    assert threading.active_count() <= before + 1  # +1: the budget watchdog
    runtime = weakref.ref(owner.runtime)
    del owner
    gc.collect()
    assert runtime() is None


def test_close_flushes_the_files_the_runtime_wrote(tmp_path):
    target = tmp_path / "out.txt"
    lua = LuaRuntime(profile="standard")
    lua.execute(f"io.output({str(target)!r}) io.write('kept')")
    lua.close()
    assert target.read_text() == "kept"
