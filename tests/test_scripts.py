"""Run every ``tests/lua/*.lua`` script and compare with its expectations."""

import pytest

from tests import luascripts

SCRIPTS = luascripts.scripts()
IDS = [path.stem for path in SCRIPTS]


@pytest.mark.parametrize("path", SCRIPTS, ids=IDS)
def test_script_output(path):
    expected_lines, expected_error = luascripts.expectations(path)
    assert expected_lines or expected_error, f"{path.name} has no expectations"
    lines, error = luascripts.run_luapy(path)
    assert lines == expected_lines
    assert error == expected_error


@pytest.mark.parametrize("path", SCRIPTS, ids=IDS)
def test_expectations_match_reference_lua(path):
    pytest.importorskip("lupa")
    expected_lines, expected_error = luascripts.expectations(path)
    lines, error = luascripts.run_reference(path)
    assert lines == expected_lines
    assert error == expected_error
