"""Script-driven tests: ``tests/lua/*.lua`` files carry their expectations.

Each ``-- expect: TEXT`` line is one line the script must print (in order);
``-- expect error: TEXT`` is the message the script must fail with.  The
same expectations are checked against real Lua 5.4 (lupa) when it is
installed, so they can't drift from the reference.

To (re)write a script's expectations from real Lua 5.4:
``python -m tests.luascripts --bless tests/lua/NAME.lua``.
"""

from __future__ import annotations

import sys
from pathlib import Path

SCRIPT_DIR = Path(__file__).parent / "lua"
EXPECT = "-- expect: "
EXPECT_ERROR = "-- expect error: "


def scripts() -> list[Path]:
    return sorted(SCRIPT_DIR.glob("*.lua"))


def expectations(path: Path) -> tuple[list[str], str | None]:
    lines, error = [], None
    for line in path.read_text(encoding="latin-1").splitlines():
        if line.startswith(EXPECT):
            lines.append(line[len(EXPECT):])
        elif line.startswith(EXPECT_ERROR):
            error = line[len(EXPECT_ERROR):]
    return lines, error


def _split(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def run_luapy(path: Path) -> tuple[list[str], str | None]:
    from luapy import LuaError, LuaRuntime

    runtime = LuaRuntime(profile="standard", encoding=None)
    output: list[str] = []
    runtime.set_output(output.append)
    source = path.read_bytes()
    try:
        runtime.execute(source, name="@" + path.name)
        error = None
    except LuaError as failure:
        error = str(failure)
    return _split("".join(output)), error


def run_reference(path: Path) -> tuple[list[str], str | None]:
    """Run under real Lua 5.4 through lupa (which must be importable)."""
    from lupa import lua54

    lua = lua54.LuaRuntime(encoding=None)
    output: list[bytes] = []
    tostring = lua.globals().tostring

    def lua_print(*args):
        output.append(b"\t".join(tostring(a) for a in args) + b"\n")

    def lua_write(*args):
        for a in args:
            output.append(a if isinstance(a, bytes) else tostring(a))

    lua.globals().print = lua_print
    lua.globals().io.write = lua_write
    loader = lua.eval("function(src, name) local f, e = load(src, name) return f or e end")
    function = loader(path.read_bytes(), b"@" + path.name.encode())
    if isinstance(function, bytes):
        return [], function.decode("latin-1")
    error = None
    try:
        function()
    except lua54.LuaError as failure:
        error = str(failure).split("\nstack traceback:")[0]
    return _split(b"".join(output).decode("latin-1")), error


def bless(path: Path) -> None:
    lines, error = run_reference(path)
    kept = [line for line in path.read_text(encoding="latin-1").splitlines()
            if not line.startswith((EXPECT, EXPECT_ERROR))]
    while kept and not kept[-1].strip():
        kept.pop()
    kept.append("")
    kept.extend(EXPECT + line for line in lines)
    if error is not None:
        kept.append(EXPECT_ERROR + error)
    path.write_text("\n".join(kept) + "\n", encoding="latin-1")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--bless":
        for name in sys.argv[2:]:
            bless(Path(name))
    else:
        sys.exit("usage: python -m tests.luascripts --bless FILE.lua...")
