"""The os library: unit tests, cross-checked with lua5.4 (lupa) where possible."""

from __future__ import annotations

import os
import time

import pytest
from hypothesis import example, given, settings, strategies as hs

from luapy.options import Options
from luapy.runtime.values import Table
from luapy.stdlib import oslib
from tests.stdlib_support import error_of, library_caller

ALL_SPECIFIERS = "aAbBcCdDeFgGhHIjmMnprRStTuUVwWxXyYzZ%"
MODIFIED = "Ec EC Ex EX Ey EY Od Oe OH OI Om OM OS Ou OU OV Ow OW Oy".split()
FULL_FORMAT = "|".join("%" + c for c in ALL_SPECIFIERS) + "|" + "|".join("%" + c for c in MODIFIED)


def make(profile="sandbox"):
    return library_caller(oslib, Options(profile=profile))


@pytest.fixture
def sandbox_os():
    return make()


@pytest.fixture
def std_os():
    return make("standard")


def test_profiles_decide_what_exists(sandbox_os, std_os):
    sandbox_names = {k for k, _ in sandbox_os.lib.iter_items()}
    assert sandbox_names == {"time", "date", "clock", "difftime"}
    std_names = {k for k, _ in std_os.lib.iter_items()}
    assert std_names == sandbox_names | {
        "getenv", "exit", "remove", "rename", "tmpname", "execute", "setlocale"}


# -------------------------------------------------------------------- date


@settings(max_examples=60, deadline=None)
@given(hs.integers(-2 ** 40, 2 ** 40))
@example(-30_610_224_001)  # 999-12-31: glibc's %C is "9", unpadded
@example(-62_135_596_800 - 86400 * 500)  # a negative year
@example(0)
@example(-1)
def test_date_matches_lua_for_every_specifier(reference, when):
    os_ = make()
    for fmt in ("!" + FULL_FORMAT, FULL_FORMAT):
        assert os_("date", fmt, when) == (reference.execute(f"return os.date('{fmt}', {when})"),)


def test_date_iso_weeks_around_new_year(reference):
    os_ = make()
    for year in (2004, 2005, 2008, 2009, 2010, 2015, 2016, 2020, 2021, 2026, 2027):
        base = int(time.mktime((year, 1, 1, 12, 0, 0, 0, 0, -1)))
        for day in range(-5, 6):
            when = base + day * 86400
            fmt = "!%G %g %V %U %W %j %u %w"
            assert os_("date", fmt, when) == (reference.execute(f"return os.date('{fmt}', {when})"),)


def test_date_table(sandbox_os, reference):
    (t,) = sandbox_os("date", "!*t", 1700000000)
    fields = {k: v for k, v in t.iter_items()}
    assert fields == {"year": 2023, "month": 11, "day": 14, "hour": 22, "min": 13,
                      "sec": 20, "wday": 3, "yday": 318, "isdst": False}
    theirs = reference.execute("local t = os.date('!*t', 1700000000) "
                         "return t.year, t.month, t.day, t.hour, t.min, t.sec, t.wday, t.yday, t.isdst")
    assert tuple(fields[k] for k in ("year", "month", "day", "hour", "min", "sec",
                                     "wday", "yday", "isdst")) == theirs
    (local,) = sandbox_os("date", "*t", 1700000000)
    assert local.get("year") == time.localtime(1700000000).tm_year


def test_date_defaults(sandbox_os):
    before = time.time()
    (text,) = sandbox_os("date")
    assert len(text) == 24 and text[3] == " "  # "%c": "Tue Nov 14 22:13:20 2023"
    (year,) = sandbox_os("date", "%Y")
    assert abs(int(year) - time.localtime(before).tm_year) <= 1
    assert sandbox_os("date", "plain text") == ("plain text",)
    assert sandbox_os("date", "!%H:%M", "3600") == ("01:00",)


DATE_ERRORS = [
    (("%Ez",), "bad argument #1 to 'date' (invalid conversion specifier '%Ez')"),
    (("%Ez abc",), "bad argument #1 to 'date' (invalid conversion specifier '%Ez abc')"),
    (("%",), "bad argument #1 to 'date' (invalid conversion specifier '%')"),
    (("x%E",), "bad argument #1 to 'date' (invalid conversion specifier '%E')"),
    (("%k",), "bad argument #1 to 'date' (invalid conversion specifier '%k')"),
    (("%c", 1.5), "bad argument #2 to 'date' (number has no integer representation)"),
    (("*t", "x"), "bad argument #2 to 'date' (number expected, got string)"),
    (("%c", 2 ** 60), "date result cannot be represented in this installation"),
]


@pytest.mark.parametrize("args,message", DATE_ERRORS, ids=[m for _, m in DATE_ERRORS])
def test_date_errors(sandbox_os, reference, args, message):
    assert error_of(sandbox_os, "date", *args) == message
    lua_args = ", ".join(repr(a) if isinstance(a, str) else str(a) for a in args)
    assert reference.execute(f"return select(2, pcall(os.date, {lua_args}))") == \
        message.replace("'date'", "'os.date'")


# -------------------------------------------------------------------- time


def test_time_now(sandbox_os):
    (now,) = sandbox_os("time")
    assert type(now) is int and abs(now - time.time()) < 5


def test_time_from_table_normalises_fields(sandbox_os, reference):
    t = Table()
    for k, v in {"year": 2020, "month": 14, "day": 40, "hour": 25}.items():
        t.set(k, v)
    (result,) = sandbox_os("time", t)
    theirs = reference.execute(
        "local t = {year=2020, month=14, day=40, hour=25} local r = os.time(t) "
        "return r, t.year, t.month, t.day, t.hour, t.min, t.sec, t.yday, t.wday, t.isdst")
    assert (result, t.get("year"), t.get("month"), t.get("day"), t.get("hour"),
            t.get("min"), t.get("sec"), t.get("yday"), t.get("wday"), t.get("isdst")) == theirs


def test_time_defaults_hour_to_noon(sandbox_os):
    t = Table()
    for k, v in {"year": 2021, "month": 3, "day": 4}.items():
        t.set(k, v)
    (result,) = sandbox_os("time", t)
    assert time.localtime(result)[:6] == (2021, 3, 4, 12, 0, 0)
    t.set("hour", 0)
    t.set("min", "30")  # numeric strings are integers here
    assert time.localtime(sandbox_os("time", t)[0])[:6] == (2021, 3, 4, 0, 30, 0)


TIME_ERRORS = [
    ("{year=2020, month=1}", "field 'day' missing in date table"),
    ("{month=1, day=1}", "field 'year' missing in date table"),
    ("{year='x', month=1, day=1}", "field 'year' is not an integer"),
    ("{year=2000.5, month=1, day=1}", "field 'year' is not an integer"),
    ("{year=2^40, month=1, day=1}", "field 'year' is out-of-bound"),
    ("{year=2020, month=1, day=1, sec=true}", "field 'sec' is not an integer"),
]


@pytest.mark.parametrize("fields,message", TIME_ERRORS, ids=[m for _, m in TIME_ERRORS])
def test_time_errors(sandbox_os, reference, fields, message):
    t = Table()
    for item in fields.strip("{}").split(", "):
        key, value = item.split("=")
        if value.startswith("'"):
            parsed = value.strip("'")
        elif value == "true":
            parsed = True
        elif value == "2^40":
            parsed = 2.0 ** 40
        else:
            parsed = float(value) if "." in value else int(value)
        t.set(key, parsed)
    assert error_of(sandbox_os, "time", t) == message
    assert reference.execute(f"return select(2, pcall(os.time, {fields}))") == message


def test_time_rejects_non_table(sandbox_os):
    assert error_of(sandbox_os, "time", "x") == \
        "bad argument #1 to 'time' (table expected, got string)"


def test_clock_and_difftime(sandbox_os):
    (c,) = sandbox_os("clock")
    assert type(c) is float and c >= 0
    assert sandbox_os("difftime", 5, 2) == (3.0,)
    assert error_of(sandbox_os, "difftime", 5) == \
        "bad argument #2 to 'difftime' (number expected, got no value)"


# ------------------------------------------------------ standard profile


def test_getenv(std_os, monkeypatch):
    monkeypatch.setenv("LUAPY_TEST_VAR", "value")
    assert std_os("getenv", "LUAPY_TEST_VAR") == ("value",)
    monkeypatch.delenv("LUAPY_TEST_VAR")
    assert std_os("getenv", "LUAPY_TEST_VAR") == (None,)
    assert error_of(std_os, "getenv") == "bad argument #1 to 'getenv' (string expected, got no value)"


def test_exit(std_os):
    for args, code in (((), 0), ((True,), 0), ((False,), 1), ((3,), 3)):
        with pytest.raises(SystemExit) as info:
            std_os("exit", *args)
        assert info.value.code == code


def test_remove_rename_tmpname(std_os, tmp_path):
    (name,) = std_os("tmpname")
    assert os.path.exists(name)
    target = str(tmp_path / "renamed")
    assert std_os("rename", name, target) == (True,)
    assert std_os("remove", target) == (True,)
    assert std_os("remove", target) == (None, f"{target}: No such file or directory", 2)
    assert std_os("rename", target, name) == (None, "No such file or directory", 2)
    empty_dir = tmp_path / "d"
    empty_dir.mkdir()
    assert std_os("remove", str(empty_dir)) == (True,)  # like C remove()


def test_execute(std_os):
    assert std_os("execute") == (True,)
    assert std_os("execute", "exit 0") == (True, "exit", 0)
    assert std_os("execute", "exit 3") == (None, "exit", 3)
    assert std_os("execute", "kill -9 $$") == (None, "signal", 9)


def test_setlocale(std_os, reference):
    assert std_os("setlocale", "C") == ("C",)
    assert std_os("setlocale") == ("C",)
    assert std_os("setlocale", "xx_YY") == (None,)
    assert reference.execute("return os.setlocale('xx_YY')") is None
    assert error_of(std_os, "setlocale", "C", "bad") == \
        "bad argument #2 to 'setlocale' (invalid option 'bad')"


# ------------------------------------------------------ through the interpreter
# (Scripts compared with lua5.4 line by line: tests/lua/lib/os/*.lua.)

def test_sandbox_runtime_has_only_the_safe_functions():
    from luapy import LuaRuntime
    names = LuaRuntime().execute(
        "local n = {} for k in pairs(os) do n[#n + 1] = k end table.sort(n) return table.concat(n, ' ')")
    assert names == "clock date difftime time"
    assert LuaRuntime(profile="standard").execute("return os.getenv ~= nil and os.exit ~= nil")


