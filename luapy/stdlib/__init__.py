"""The standard library, opened per runtime according to its profile.

Each library module exposes ``open_library(st) -> Table`` (or installs
itself into ``st.globals``), building fresh ``Function`` objects bound to that one
``State``: nothing is shared between runtimes, so no plugin can change
another's library.
"""

from __future__ import annotations

from importlib import import_module


#: (global name, module) in opening order; ``None`` means the module installs
#: its functions straight into ``_G``.
_LIBRARIES = [
    (None, "base"),
    ("package", "package"),
    ("string", "strlib"),
    ("table", "tablib"),
    ("math", "mathlib"),
    ("utf8", "utf8lib"),
    ("os", "oslib"),
    ("coroutine", "corolib"),
    ("io", "iolib"),
    ("debug", "debuglib"),
]

#: Libraries the sandbox profile leaves out entirely: ``debug`` reads and
#: writes any function's locals and upvalues, which no sandbox survives.
_SANDBOX_EXCLUDED = {"io", "debug"}


def opener(module):
    """A library module's factory.  ``base`` and ``coroutine`` still call
    theirs ``open``; the others use a name that doesn't shadow the builtin."""
    return getattr(module, "open_library", None) or module.open


def open_libs(st) -> None:
    sandbox = st.options.profile == "sandbox"
    for global_name, module_name in _LIBRARIES:
        if sandbox and global_name in _SANDBOX_EXCLUDED:
            continue
        module = import_module(f"{__name__}.{module_name}")
        library = opener(module)(st)
        if global_name is not None and library is not None:
            st.globals.set(global_name, library)
            st.loaded.set(global_name, library)
    st.loaded.set("_G", st.globals)
    if st.options.lua51_compat:
        from . import compat51

        compat51.install(st)

