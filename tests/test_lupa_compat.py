"""lupa's own README examples, run against luapy's trusted profile.

Each runs unchanged but for how the runtime is made
(``LuaRuntime(profile="trusted", ...)``); where lupa is installed the same
example runs on it too and the results must agree.
"""

import threading

import pytest

import luapy
from luapy import LuaError, LuaRuntime

try:
    import lupa.lua54 as lupa
except ImportError:  # the comparisons are skipped, luapy's results still checked
    lupa = None


def runtimes(**options):
    """luapy's trusted runtime and, when available, lupa's with the same options."""
    made = [("luapy", luapy, LuaRuntime(profile="trusted", **options))]
    if lupa is not None:
        made.append(("lupa", lupa, lupa.LuaRuntime(**options)))
    return made


def same_everywhere(example, **options):
    """Run ``example(module, lua)`` on each runtime; all results must agree."""
    results = {name: example(module, lua) for name, module, lua in runtimes(**options)}
    assert len(set(map(repr, results.values()))) == 1, results
    return results["luapy"]


def test_intro_python_eval_and_callables():
    def example(lupa, lua):
        lua_func = lua.eval('function(f, n) return f(n) end')

        def py_add1(n):
            return n + 1
        return (lua.eval('1+1'), lua_func(py_add1, 2), lua.eval('python.eval(" 2 ** 2 ")') == 4,
                lua.eval('python.builtins.str(4)') == '4', lupa.lua_type(lua_func),
                lupa.lua_type(lua.eval('{}')))
    assert same_everywhere(example, unpack_returned_tuples=True) == (2, 3, True, True, "function", "table")


@pytest.mark.parametrize("unpack", [True, False])
def test_unpack_returned_tuples(unpack):
    def example(lupa, lua):
        lua.execute('a,b,c = python.eval("(1,2)")')
        g = lua.globals()
        return g.a, g.b, g.c
    expected = (1, 2, None) if unpack else ((1, 2), None, None)
    assert same_everywhere(example, unpack_returned_tuples=unpack) == expected


def test_python_objects_in_lua():
    def example(lupa, lua):
        wrapped_type = lua.globals().type
        lua_func = lua.eval('function(obj) return obj["get"] end')
        d = {'get': 'value'}

        def py_func():
            pass
        py_func.ATTR = 2

        class MyClass:
            def my_method(self):
                return 345
        return (wrapped_type(1), wrapped_type(wrapped_type), wrapped_type(len), wrapped_type([]),
                lua_func(d), lua_func(lupa.as_itemgetter(d)), lua_func(lupa.as_attrgetter(d)) == d.get,
                lua.eval('function(obj) return python.as_attrgetter(obj)["get"] end')(d)('get'),
                lua.eval('function(obj) return obj.ATTR end')(py_func),
                lua.eval('function(obj) return python.as_attrgetter(obj).ATTR end')(py_func),
                lua.eval('function(py_obj) return py_obj:my_method() end')(MyClass()))
    assert same_everywhere(example) == ("number", "function", "userdata", "userdata", "value", "value",
                                        True, "value", 2, 2, 345)


def test_iteration_and_none():
    def example(lupa, lua):
        copy = lua.eval('function(L) local t, i = {}, 1 for item in python.iter(L) do '
                        't[i] = item i = i + 1 end return t end')
        enum = lua.eval('function(L) local t = {} for index, item in python.enumerate(L) do '
                        't[index+1] = item end return t end')
        items = lua.eval('function(d) local t = {} for key, value in python.iterex(d.items()) do '
                         't[key] = value end return t end')
        nones = lua.eval('function(items) local t = {} for value in python.iter(items) do '
                         'table.insert(t, value == python.none) end return t end')
        return (list(copy([1, 2, 3, 4]).values()), list(enum([1, 2, 3, 4]).values()),
                items(lupa.as_attrgetter(dict(a=1, b=2, c=3)))['b'], list(nones([1, None, 2]).values()),
                lua.eval('nil') is None, lua.eval('function(x) return x == nil end')(None))
    assert same_everywhere(example) == ([1, 2, 3, 4], [1, 2, 3, 4], 2, [False, True, False], True, True)


def test_tables():
    def example(lupa, lua):
        table = lua.eval('{10,20,30,40}')
        mapping = lua.eval('{ [20] = -20; [3] = -3 }')
        mapping[-3] = 3
        t = lua.table(10, 20, 30, 40, a=1, b=2)
        merged = lua.table_from([10, 20, 30], {'a': 11, 'b': 22}, (40, 50), {'b': 42})
        attrs = lua.eval('{ a=1, b=2 }')
        return (table[1], list(table), dict(table), len(table), sorted(mapping.items()), t[3], t['b'],
                merged['b'], merged[5], sorted(merged.values()), table[1000000], attrs.a,
                lua.eval('string').lower('A'))
    assert same_everywhere(example)[-1] == "a"


def test_table_from_recursive():
    def example(lupa, lua):
        t = lua.table_from([[[10, 20, 30], {'a': 11, 'b': 22}], [(40, 50), {'b': 42}]], recursive=True)
        t1, t2 = t.values()
        return list(t1[1].values()), t1[2]['a'], t1[2]['b'], t2[2]['b'], list(t2[1].values())
    assert same_everywhere(example) == ([10, 20, 30], 11, 22, 42, [40, 50])


def test_named_arguments():
    def example(lupa, lua):
        @lupa.unpacks_lua_table
        def add(a, b):
            return a + b
        import operator
        return (lua.eval('function(a, b, f) return f{a=a, b=b} end')(5, 6, add),
                lua.eval('function(a, b, f) return f{a, b=b} end')(5, 6, add),
                lua.eval('function(a, b, f) return f{a, b} end')(5, 6, lupa.unpacks_lua_table(operator.add)))
    assert same_everywhere(example) == (11, 11, 11)


def test_coroutine_generators():
    def example(lupa, lua):
        f = lua.eval('function(N) for i=0,N do coroutine.yield( i%2 ) end end')
        first = list(enumerate(f.coroutine(4)))
        co = lua.eval('function() local t,i = {},0 local value = coroutine.yield() while value do '
                      't[i] = value i = i + 1 value = coroutine.yield() end return t end').coroutine()
        co.send(None)
        for i in range(3):
            co.send(i * 2)
        mapping = sorted(co.send(None).items())
        f, co, lua_gen, status, first_result = lua.execute('''
            function f(N) for i=0,N do coroutine.yield( i%2 ) end end ;
            co1 = coroutine.create(f) ; co2 = coroutine.create(f) ;
            status, first_result = coroutine.resume(co2, 2) ;
            return f, co1, co2, status, first_result''')
        return (first, mapping, status, first_result, list(lua_gen), list(lua_gen),
                list(enumerate(co(4))), list(enumerate(co(2))), list(enumerate(f.coroutine(4))))
    assert same_everywhere(example)[:4] == ([(0, 0), (1, 1), (2, 0), (3, 1), (4, 0)],
                                            [(0, 0), (1, 2), (2, 4)], True, 0)


MANDELBROT = '''\
    function(N, i, total)
        local char, unpack = string.char, table.unpack
        local result = ""
        local M, ba, bb, buf = 2/N, 2^(N%8+1)-1, 2^(8-N%8), {}
        local start_line, end_line = N/total * (i-1), N/total * i - 1
        for y=start_line,end_line do
            local Ci, b, p = y*M-1, 1, 0
            for x=0,N-1 do
                local Cr = x*M-1.5
                local Zr, Zi, Zrq, Ziq = Cr, Ci, Cr*Cr, Ci*Ci
                b = b + b
                for i=1,49 do
                    Zi = Zr*Zi*2 + Ci
                    Zr = Zrq-Ziq + Cr
                    Ziq = Zi*Zi
                    Zrq = Zr*Zr
                    if Zrq+Ziq > 4.0 then b = b + 1; break; end
                end
                if b >= 256 then p = p + 1; buf[p] = 511 - b; b = 1; end
            end
            if b ~= 1 then p = p + 1; buf[p] = (ba-b)*bb; end
            result = result .. char(unpack(buf, 1, p))
        end
        return result
    end
'''


def test_threaded_mandelbrot():
    image_size, thread_count = 32, 4  # lupa's README uses 1280 and 8

    def example(lupa, lua):
        lua_funcs = [type(lua)(encoding=None, **({"profile": "trusted"} if lupa is luapy else {}))
                     .eval(MANDELBROT) for _ in range(thread_count)]
        results = [None] * thread_count

        def mandelbrot(i, lua_func):
            results[i] = lua_func(image_size, i + 1, thread_count)
        threads = [threading.Thread(target=mandelbrot, args=(i, f)) for i, f in enumerate(lua_funcs)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return b''.join(results)
    image = same_everywhere(example)
    assert len(image) == image_size * image_size // 8 and image.strip(b"\0")


def test_restricting_attribute_access():
    def filter_attribute_access(obj, attr_name, is_setting):
        if isinstance(attr_name, str) and not attr_name.startswith('_'):
            return attr_name
        raise AttributeError('access denied')
    lua = LuaRuntime(profile="trusted", register_eval=False, register_builtins=False,
                     attribute_filter=filter_attribute_access)
    with pytest.raises(LuaError) as failure:  # lupa raises the AttributeError itself
        lua.eval('function(x) return x.__class__ end')(lua)
    assert isinstance(failure.value.__cause__, AttributeError)
    assert lua.eval("python.eval") is None and lua.eval("python.builtins") is None

    class X:
        yes = 123
        put = 'abc'
        noway = 2.1

    def getter(obj, attr_name):
        if attr_name == 'yes':
            return getattr(obj, attr_name)
        raise AttributeError(f'not allowed to read attribute "{attr_name}"')

    def setter(obj, attr_name, value):
        if attr_name == 'put':
            setattr(obj, attr_name, value)
            return
        raise AttributeError(f'not allowed to write attribute "{attr_name}"')
    lua = LuaRuntime(profile="trusted", register_eval=False, register_builtins=False,
                     attribute_handlers=(getter, setter))
    x = X()
    assert lua.eval('function(x) return x.yes end')(x) == 123
    lua.eval('function(x) x.put = "ABC"; end')(x)
    assert x.put == "ABC"
    with pytest.raises(LuaError, match='not allowed to write attribute "noway"') as failure:
        lua.eval('function(x) x.noway = 42; end')(x)
    assert isinstance(failure.value.__cause__, AttributeError)


def test_memory_limit_is_a_lua_memory_error():
    lua = LuaRuntime(profile="trusted", max_memory=10_000)
    with pytest.raises(luapy.LuaMemoryError) as failure:
        lua.eval("string.rep('a', 100000)")
    assert isinstance(failure.value, MemoryError) and isinstance(failure.value, LuaError)
