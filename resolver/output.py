"""Output formats: aligned tables, JSON and a small YAML writer.

The YAML writer covers what the resolver prints (dicts, lists, strings,
numbers, booleans, None) and quotes every string that YAML could read back
as something else, so its output round-trips through any YAML parser.
"""

from __future__ import annotations

import json
import re


def table(headers: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell, separated by three spaces (kubectl style)."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = []
    for row in [headers] + rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append("   ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def to_json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


# -- YAML -------------------------------------------------------------------

_PLAIN_SAFE = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./:@+-]*$")
#: Plain scalars YAML 1.1 or 1.2 would not read back as a string.
_RESERVED = re.compile(
    r"^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|yes|Yes|YES|no|No|NO|"
    r"on|On|ON|off|Off|OFF|y|Y|n|N|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")


def _yaml_scalar(value) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    text = str(value)
    if _PLAIN_SAFE.match(text) and not _RESERVED.match(text) and not text.endswith(":"):
        return text
    # JSON strings are valid YAML double-quoted scalars.
    return json.dumps(text, ensure_ascii=False)


def to_yaml(value, indent: int = 0) -> str:
    """Block-style YAML for nested dicts/lists of scalars."""
    return "".join(_yaml_lines(value, indent)) or "{}\n"


def _yaml_lines(value, indent: int):
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            yield pad + "{}\n"
            return
        for key, item in value.items():
            key_text = _yaml_scalar(str(key))
            if isinstance(item, (dict, list)) and item:
                yield f"{pad}{key_text}:\n"
                yield from _yaml_lines(item, indent + 2)
            else:
                yield f"{pad}{key_text}: {_yaml_inline(item)}\n"
    elif isinstance(value, list):
        if not value:
            yield pad + "[]\n"
            return
        for item in value:
            if isinstance(item, (dict, list)) and item:
                lines = list(_yaml_lines(item, indent + 2))
                first = lines[0]
                yield f"{pad}- {first[indent + 2:]}"
                yield from lines[1:]
            else:
                yield f"{pad}- {_yaml_inline(item)}\n"
    else:
        yield pad + _yaml_scalar(value) + "\n"


def _yaml_inline(value) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _yaml_scalar(value)
