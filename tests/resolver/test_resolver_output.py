"""The table and YAML writers."""

import pytest

from resolver.output import table, to_yaml


def test_table_aligns_columns_and_strips_trailing_spaces():
    assert table(["A", "LONGER"], [["xyz", "1"], ["q", ""]]) == "A     LONGER\nxyz   1\nq\n"


def test_yaml_round_trips_awkward_values():
    yaml = pytest.importorskip("yaml")
    value = {
        "results": [{"pod": "a", "type": "Deployment", "trail": [{"step": "plugin:x", "said": "error: a: b"}]},
                    {"pod": "yes", "unresolved": "no owner", "n": 3, "f": 1.5, "none": None, "t": True}],
        "empty": {}, "list": [], "quote": 'say "hi"', "colon": "k:", "num": "012", "dash": "- x",
        "unicode": "café ☃", "hash": "#x", "bools": ["true", "off", "Y"], "nested": [[1, 2], []],
    }
    assert yaml.safe_load(to_yaml(value)) == value


def test_yaml_layout():
    assert to_yaml({"a": [{"b": 1, "c": "x"}], "d": {}}) == "a:\n  - b: 1\n    c: x\nd: {}\n"
