"""Lua test scripts that carry their expectations beside the lines they check.

``tests/lua/<topic>/<behaviour>.lua`` is one small script per behaviour, in
the style of craftinginterpreters' tests::

    print(1 // 0.0)            -- expect: inf
    print(pcall(error, "x"))   -- expect: false	x
    local t = nil; t.x = 1     -- error: tables/nil_index.lua:3: attempt to index a nil value (local 't')

- ``-- expect: TEXT`` is the next line the script must print (the rest of the
  line, tabs included; an empty TEXT is an empty line).  Put it at the end of
  the line that prints, or on lines of its own right after the statement
  when one statement prints several lines.
- ``-- error: TEXT`` is the message of the error the script must end with,
  beside the line that raises it.  There is at most one, after every
  ``-- expect:``; errors caught with ``pcall`` are ordinary printed output.

A mismatch is reported as ``topic/behaviour.lua:LINE: ...``, the line of the
expectation that failed.  The chunk name of a script is its path under
``tests/lua``, so positions in messages read ``topic/behaviour.lua:3:``.

The same expectations are checked against real Lua 5.4 (lupa) when it is
installed, so they can't drift from the reference.  To (re)write a script's
expectations from real Lua 5.4::

    python -m tests.luascripts --bless tests/lua/TOPIC/NAME.lua
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

SCRIPT_DIR = Path(__file__).parent / "lua"
EXPECT = re.compile(r"--\s*expect:(?: (.*))?$")
ERROR = re.compile(r"--\s*error:(?: (.*))?$")
#: Where ``--bless`` stops writing an expectation at the end of its line.
INLINE_WIDTH = 100


@dataclass(frozen=True)
class Expectation:
    line: int
    text: str


@dataclass(frozen=True)
class Script:
    path: Path
    name: str                       # the chunk name, relative to SCRIPT_DIR
    output: list[Expectation]       # in file order
    error: Expectation | None


@dataclass(frozen=True)
class Run:
    output: list[str]
    error: str | None


class ScriptFormatError(ValueError):
    """The script's expectations themselves are malformed."""


def scripts() -> list[Path]:
    return sorted(SCRIPT_DIR.rglob("*.lua"))


def chunk_name(path: Path) -> str:
    try:
        return path.resolve().relative_to(SCRIPT_DIR.resolve()).as_posix()
    except ValueError:
        return path.name


def _read_text(path: Path) -> str:
    return path.read_bytes().decode("latin-1")


def read_script(path: Path) -> Script:
    name = chunk_name(path)
    output: list[Expectation] = []
    error: Expectation | None = None
    for number, line in enumerate(_read_text(path).split("\n"), 1):
        line = line.rstrip("\r")
        expect, fails = EXPECT.search(line), ERROR.search(line)
        if error is not None and (expect or fails):
            raise ScriptFormatError(
                f"{name}:{number}: nothing can be expected after the '-- error:' "
                f"of line {error.line}: the script stops there")
        if expect:
            output.append(Expectation(number, expect.group(1) or ""))
        elif fails:
            error = Expectation(number, fails.group(1) or "")
    if not output and error is None:
        raise ScriptFormatError(f"{name}: no '-- expect:' or '-- error:' in the script")
    return Script(path, name, output, error)


def mismatches(script: Script, run: Run) -> list[str]:
    """Every way ``run`` differs from ``script``'s expectations, each
    message starting with the ``name:line:`` of the expectation it breaks."""
    problems = []
    name = script.name
    for index, expected in enumerate(script.output):
        if index >= len(run.output):
            ended = f"ended with error {run.error!r}" if run.error else "printed nothing more"
            problems.append(f"{name}:{expected.line}: expected {expected.text!r}, "
                            f"but the script {ended}")
            break
        if run.output[index] != expected.text:
            problems.append(f"{name}:{expected.line}: expected {expected.text!r}, "
                            f"got {run.output[index]!r}")
    extra = run.output[len(script.output):]
    if extra and script.output:
        problems.append(f"{name}:{script.output[-1].line}: unexpected output "
                        f"after this line: {extra!r}")
    elif extra:
        problems.append(f"{name}: unexpected output: {extra!r}")
    if script.error is None:
        if run.error is not None:
            problems.append(f"{name}: unexpected error: {run.error}")
    elif run.error != script.error.text:
        got = f"error {run.error!r}" if run.error is not None else "no error"
        problems.append(f"{name}:{script.error.line}: expected error "
                        f"{script.error.text!r}, got {got}")
    return problems


def check(path: Path, runner) -> None:
    """Run ``path`` with ``runner`` (``run_luapy`` or ``run_reference``) and
    raise ``AssertionError`` naming the Lua lines that mismatch."""
    script = read_script(path)
    problems = mismatches(script, runner(path))
    if problems:
        raise AssertionError("\n".join(problems))


def _split(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def run_luapy(path: Path) -> Run:
    from luapy import LuaError, LuaRuntime

    # latin-1 hands print output over byte for byte, as real Lua writes it.
    runtime = LuaRuntime(profile="standard", encoding="latin-1")
    output: list[str] = []
    runtime.set_output(output.append)
    try:
        runtime.execute(path.read_bytes(), name="@" + chunk_name(path))
        error = None
    except LuaError as failure:
        error = str(failure)
    return Run(_split("".join(output)), error)


# Runs a script in real Lua 5.4, recording each printed line with the line of
# the script's main chunk that was running when it was printed (``--bless``
# places expectations there); output from a coroutine is given the line the
# main thread resumed it from.
_REFERENCE_HARNESS = """
local source, name = ...
local out, lines, pending = {}, {}, {}
local main_thread = coroutine.running()
local function chunk_line(thread, level)
  local line
  while true do
    local info = debug.getinfo(thread, level, "Sl")
    if not info then return line end
    if info.what == "main" and info.source == name then line = info.currentline end
    level = level + 1
  end
end
local function main_line()
  return chunk_line(coroutine.running(), 1) or chunk_line(main_thread, 1)
end
local function emit(text)
  for piece, newline in (text):gmatch("([^\\n]*)(\\n?)") do
    pending[#pending + 1] = piece
    if newline == "" then break end
    out[#out + 1] = table.concat(pending)
    lines[#lines + 1] = main_line() or lines[#lines] or 0
    pending = {}
  end
end
print = function(...)
  local n, parts = select("#", ...), {}
  for i = 1, n do parts[i] = tostring((select(i, ...))) end
  emit(table.concat(parts, "\\t") .. "\\n")
end
io.write = function(...)
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    emit(math.type(v) == "float" and string.format("%.14g", v) or tostring(v))
  end
  return io.stdout
end
local chunk, failure = load(source, name)
local error_line
if chunk then
  local ok, message = xpcall(chunk, function(message)
    error_line = main_line()
    if type(message) ~= "string" and type(message) ~= "number" then
      local mt = getmetatable(message)
      if mt and mt.__tostring then return tostring(message) end
      return "(error object is a " .. type(message) .. " value)"
    end
    return tostring(message)
  end)
  if not ok then failure = message end
end
if #pending > 0 and pending[1] ~= "" then
  out[#out + 1] = table.concat(pending); lines[#lines + 1] = main_line() or 0
end
return out, lines, failure, error_line
"""


def _reference_run(path: Path):
    """``(Run, lines the output came from, line of the error)`` from real Lua 5.4."""
    from lupa import lua54

    lua = lua54.LuaRuntime(encoding=None)
    harness = lua.execute("return function(...) " + _REFERENCE_HARNESS + " end")
    out, lines, failure, error_line = harness(path.read_bytes(),
                                              ("@" + chunk_name(path)).encode())
    output = [out[i].decode("latin-1") for i in range(1, len(out) + 1)]
    origins = [lines[i] for i in range(1, len(lines) + 1)]
    error = failure.decode("latin-1") if failure is not None else None
    return Run(output, error), origins, error_line


def run_reference(path: Path) -> Run:
    """Run under real Lua 5.4 through lupa (which must be importable)."""
    return _reference_run(path)[0]


def _statement_ends(source_lines: list[str]) -> list[int]:
    """For each line, the first line at or after it where the chunk's
    top-level statements are complete (so a comment line can go after it)."""
    from lupa import lua54

    compiles = lua54.LuaRuntime(encoding=None).eval(
        "function(s) return load(s, '=bless') ~= nil end")
    ends = [0] * (len(source_lines) + 1)
    complete = len(source_lines)
    for line in range(len(source_lines), 0, -1):
        if compiles("\n".join(source_lines[:line]).encode("latin-1")):
            complete = line
        ends[line] = complete
    return ends


def bless(path: Path) -> None:
    """Rewrite ``path``'s expectations from what real Lua 5.4 does.

    Expectations written on lines of their own move the code after them, and
    so the positions in its messages: repeat until the script is stable."""
    for _ in range(5):
        before = path.read_bytes()
        _bless_once(path)
        if path.read_bytes() == before:
            return
    raise RuntimeError(f"{path}: expectations did not settle")


def _bless_once(path: Path) -> None:
    run, origins, error_line = _reference_run(path)
    source = _read_text(path).split("\n")
    if source and source[-1] == "":
        source.pop()
    kept = []
    for line in source:
        match = EXPECT.search(line) or ERROR.search(line)
        if match:
            line = line[:match.start()].rstrip()
            if not line:
                line = None          # a line that held only an expectation
        kept.append(line)
    ends = _statement_ends([line or "" for line in kept])
    inline: dict[int, str] = {}
    after: dict[int, list[str]] = {}
    groups: dict[int, list[str]] = {}
    last = 0
    for text, origin in zip(run.output, origins):
        last = max(last, origin or 0, 1)
        groups.setdefault(ends[min(last, len(kept))], []).append("-- expect: " + text)
    if run.error is not None:
        line = ends[min(max(error_line or len(kept), last, 1), len(kept))]
        groups.setdefault(line, []).append("-- error: " + run.error)
    for line, comments in groups.items():
        code = kept[line - 1]
        if (len(comments) == 1 and code is not None and "--" not in code
                and len(code) + 2 + len(comments[0]) <= INLINE_WIDTH):
            inline[line] = comments[0]
        else:
            after[line] = comments
    result = []
    for number, code in enumerate(kept, 1):
        if code is not None:
            result.append(f"{code}  {inline[number]}" if number in inline else code)
        result.extend(after.get(number, []))
    path.write_bytes(("\n".join(result) + "\n").encode("latin-1"))


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--bless":
        for name in sys.argv[2:]:
            bless(Path(name))
    else:
        sys.exit("usage: python -m tests.luascripts --bless FILE.lua...")
