"""Every tunable of a runtime, in one place, with its default.

Budgets apply per call from Python into Lua (``execute``, ``eval``, calling
a Lua function from Python): each such call starts with a full budget.
``None`` means unlimited.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    #: Loop iterations, calls and the inner work of long library functions
    #: (pattern matching, gsub callbacks, rep, concat, sort, format, JSON).
    steps: int | None = 10_000_000
    #: Seconds of the call's own time: CPU time of the threads running its
    #: Lua, less full (generation-2) garbage collections, which are the
    #: host's; the first ``CHECK_INTERVAL`` steps are counted in wall time.
    #: Whatever else happens, a call ends after ``WALL_BACKSTOP`` (4) times
    #: this in wall-clock time (``luapy.runtime.state``, "Time").
    time: float | None = 1.0
    #: Bytes allocated, as the interpreter accounts them: strings, tables and
    #: buffers are charged as they are made (a bound on allocation, since
    #: there is no Lua-visible garbage collector to credit frees).
    memory: int | None = 64 * MiB
    #: Nested non-tail Lua calls, metamethods included.
    depth: int = 200
    #: Syntactic nesting (parentheses, tables, blocks, calls) in one chunk.
    nesting: int = 200
    #: Bytes of Lua source in one chunk.
    source_size: int | None = 1 * MiB
    #: Coroutines running or suspended at once (started and not finished
    #: nor collected); one more is a Lua error.  Each is also charged to the
    #: memory budget for what it holds.  ``None`` is the profile's default,
    #: ``COROUTINES``.
    coroutines: int | None = None

    def __post_init__(self):
        # Checked here so a typo fails when the runtime is configured, not
        # as a Python error in the middle of the first call.
        for name in ("steps", "time", "memory", "source_size"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
                raise ValueError(f"Limits.{name} must be a number >= 0 or None, not {value!r}")
        for name in ("depth", "nesting"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                # No None: the Python stack under these is finite.
                raise ValueError(f"Limits.{name} must be an int >= 1, not {value!r}")
        value = self.coroutines
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"Limits.coroutines must be an int >= 1 or None, not {value!r}")


#: ``Limits.coroutines`` when it is None, by profile: a plugin needs few
#: coroutines at once; a script run by ``luapy`` may want many.
COROUTINES = {"sandbox": 256, "standard": 1_000_000}


#: No budgets beyond what the host machine allows; for the ``luapy`` command.
UNLIMITED = Limits(steps=None, time=None, memory=None, depth=195_000,
                   nesting=200, source_size=None)


#: The trusted profile's defaults: no budgets (the code is the host's own,
#: as with lupa), and as deep as a caller's thread allows.
TRUSTED_LIMITS = Limits(steps=None, time=None, memory=None, depth=1000, source_size=None)


@dataclass(frozen=True)
class Options:
    """How a runtime is built.

    ``profile``:
      * ``"sandbox"`` (default): base library without ``dofile``/``loadfile``,
        text-only ``load``, string, table, math, utf8, coroutine, a safe
        subset of ``os``, ``require`` of bundled and registered modules only.
      * ``"standard"``: what ``lua5.4`` offers a script, plus ``io`` and the
        rest of ``os``; ``require`` also searches ``package.path`` on disk.
      * ``"trusted"``: the standard library plus lupa's bridge to Python
        (the ``python`` module, Python objects as userdata) and, unless
        ``limits`` says otherwise, ``TRUSTED_LIMITS``.  For code the host
        trusts as its own: nothing in it is a sandbox.
    ``lua51_compat``: add the Lua 5.1 names DeepFlow plugins may use
    (``unpack``, ``loadstring``, ``table.getn``, ``table.maxn``,
    ``math.pow``, ``math.log10``).
    ``encoding``: how Lua strings are returned to Python (``None`` returns
    ``bytes``) and how Python ``str`` is passed into Lua.
    """


    profile: str = "sandbox"
    limits: Limits = field(default_factory=Limits)
    lua51_compat: bool = False
    encoding: str | None = "utf-8"
    #: Compile step and depth accounting into every function and loop.
    #: Turning it off is only for measuring what the accounting costs:
    #: without it, step/time budgets are not enforced inside Lua code and
    #: runaway recursion ends in Python's own recursion limit.
    count_steps: bool = True

    @property
    def coroutine_limit(self) -> int:
        """How many coroutines may run or be suspended at once."""
        limit = self.limits.coroutines
        return limit if limit is not None else COROUTINES.get(self.profile, COROUTINES["sandbox"])

    def with_limits(self, **changes) -> "Options":
        return replace(self, limits=replace(self.limits, **changes))
