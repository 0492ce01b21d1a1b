"""Lua 5.1 names that DeepFlow plugins still use (``Options.lua51_compat``).

Installed after every library is open: ``unpack``, ``loadstring``,
``table.getn``, ``table.maxn``, ``math.pow`` and ``math.log10``, each with
its Lua 5.1 behaviour expressed in 5.4 values.
"""

from __future__ import annotations

import math

from ..runtime import ops
from ..runtime.args import check_num, check_str, check_table, register
from ..runtime.values import Table
from .mathlib import c_log


def install(st) -> None:
    g = st.globals
    table_lib = g.get("table")
    math_lib = g.get("math")
    load = g.get("load")

    if type(table_lib) is Table:
        unpack = table_lib.get("unpack")
        if unpack is not None:
            g.set("unpack", unpack)

        def getn(*args):
            t = check_table(args, 1, "getn")
            return (ops.length(st, t),)

        def maxn(*args):
            # The largest positive numeric key (raw traversal), 0 if none;
            # kept an integer when it is one so loops over it stay integral.
            t = check_table(args, 1, "maxn")
            best = 0
            if t.arr:
                best = len(t.arr)
            for key in list(t.hash):
                st.charge(1)
                if (type(key) is int or type(key) is float) and key > best \
                        and t.hash.get(key) is not None:
                    best = key
            return (best,)

        register(table_lib, "getn", getn)
        register(table_lib, "maxn", maxn)

    if type(math_lib) is Table:
        def pow_(*args):
            x = float(check_num(args, 1, "pow"))
            y = float(check_num(args, 2, "pow"))
            return (ops.pow_(x, y),)

        def log10(*args):
            return (c_log(float(check_num(args, 1, "log10")), math.log10),)

        register(math_lib, "pow", pow_)
        register(math_lib, "log10", log10)

    if load is not None:
        def loadstring(*args):
            source = check_str(args, 1, "loadstring")
            chunkname = args[1] if len(args) >= 2 and args[1] is not None else source
            if type(chunkname) is not str:
                chunkname = check_str(args, 2, "loadstring")
            return ops.call(st, load, (source, chunkname))

        register(g, "loadstring", loadstring)
