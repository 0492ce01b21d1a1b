"""Test-wide settings.

On CI (``CI`` set, as .ci/run runs) hypothesis draws the same examples
every run, so a green main stays green; locally it explores freely.
"""

import os

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="module")
def reference():
    """Real Lua 5.4 (lupa), the oracle; tests that use it skip without lupa."""
    lupa = pytest.importorskip("lupa")
    return lupa.lua54.LuaRuntime()


@pytest.fixture(scope="module")
def reference_bytes():
    """Real Lua 5.4 (lupa) with strings as bytes, as luapy's ``encoding=None``."""
    lupa = pytest.importorskip("lupa")
    return lupa.lua54.LuaRuntime(encoding=None)
