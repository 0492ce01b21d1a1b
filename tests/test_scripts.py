"""Run every ``tests/lua/**/*.lua`` script against the expectations beside its lines."""

import pytest

from tests import luascripts

SCRIPTS = luascripts.scripts()
IDS = [luascripts.chunk_name(path) for path in SCRIPTS]


@pytest.mark.parametrize("path", SCRIPTS, ids=IDS)
def test_script(path):
    luascripts.check(path, luascripts.run_luapy)


@pytest.mark.parametrize("path", SCRIPTS, ids=IDS)
def test_script_agrees_with_reference_lua(path):
    pytest.importorskip("lupa")
    luascripts.check(path, luascripts.run_reference)


# The runner itself: a wrong expectation must fail, naming its Lua line.

def _script(tmp_path, text):
    path = tmp_path / "probe.lua"
    path.write_text(text)
    return path


def _failure(path):
    with pytest.raises(AssertionError) as info:
        luascripts.check(path, luascripts.run_luapy)
    return str(info.value)


def test_runner_passes_a_right_script(tmp_path):
    path = _script(tmp_path, "print(1)  -- expect: 1\nprint()  -- expect:\n"
                             "error('x')  -- error: probe.lua:3: x\n")
    luascripts.check(path, luascripts.run_luapy)


def test_runner_names_the_line_of_a_wrong_expectation(tmp_path):
    path = _script(tmp_path, "print(1)  -- expect: 1\n\nprint(2)  -- expect: 3\n")
    assert _failure(path) == "probe.lua:3: expected '3', got '2'"


def test_runner_fails_on_missing_and_extra_output(tmp_path):
    missing = _script(tmp_path, "print(1)  -- expect: 1\n-- expect: 2\n")
    assert _failure(missing) == "probe.lua:2: expected '2', but the script printed nothing more"
    extra = _script(tmp_path, "print(1)  -- expect: 1\nprint(2)\n")
    assert _failure(extra) == "probe.lua:1: unexpected output after this line: ['2']"


def test_runner_checks_the_error(tmp_path):
    wrong = _script(tmp_path, "print(1)  -- expect: 1\nerror('x')  -- error: probe.lua:2: y\n")
    assert _failure(wrong) == \
        "probe.lua:2: expected error 'probe.lua:2: y', got error 'probe.lua:2: x'"
    none = _script(tmp_path, "print(1)  -- error: boom\n")
    assert _failure(none) == ("probe.lua: unexpected output: ['1']\n"
                              "probe.lua:1: expected error 'boom', got no error")
    unexpected = _script(tmp_path, "print(1)  -- expect: 1\nerror('x')\n")
    assert _failure(unexpected) == "probe.lua: unexpected error: probe.lua:2: x"
    cut_short = _script(tmp_path, "error('x')\nprint(1)  -- expect: 1\n")
    assert _failure(cut_short).startswith(
        "probe.lua:2: expected '1', but the script ended with error 'probe.lua:1: x'")


def test_runner_refuses_malformed_scripts(tmp_path):
    with pytest.raises(luascripts.ScriptFormatError, match="no '-- expect:'"):
        luascripts.read_script(_script(tmp_path, "print(1)\n"))
    with pytest.raises(luascripts.ScriptFormatError, match="probe.lua:2: nothing can be expected"):
        luascripts.read_script(_script(tmp_path, "error('x')  -- error: x\nprint(1)  -- expect: 1\n"))


def test_bless_writes_expectations_beside_their_lines(tmp_path):
    pytest.importorskip("lupa")
    path = _script(tmp_path, "print(1)\nfor i = 1, 2 do\n  print(i)\nend\n"
                             "local co = coroutine.wrap(function() print('in') end)\n"
                             "co()\nerror('last')\n")
    luascripts.bless(path)
    assert path.read_text() == (
        "print(1)  -- expect: 1\nfor i = 1, 2 do\n  print(i)\nend\n-- expect: 1\n-- expect: 2\n"
        "local co = coroutine.wrap(function() print('in') end)\n"
        "co()  -- expect: in\nerror('last')  -- error: probe.lua:9: last\n")
    luascripts.check(path, luascripts.run_luapy)
