"""The plugin host, the chain and the loader: every outcome and every error kind."""

import os
import random

import pytest

from resolver.chain import Chain, resolve_podset
from resolver.loader import PluginSet
from resolver.plugins import (
    MAX_MESSAGE_CHARS, MAX_OUTPUT_PER_CALL, MAX_WORKLOAD_NAME_BYTES, CallResult, LuaPlugin, PluginError,
    PluginStats, to_lua_string,
)
from resolver.pods import PodSet, load_pods, make_pod
from resolver.rules import Resolved, Unresolved
from resolver.store import PluginStore

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SAMPLE = os.path.join(HERE, "..", "data", "pods-sample.json")
SEED = os.path.join(ROOT, "examples", "plugins", "opengauss.lua")


def plugin(body: str, name: str = "p") -> LuaPlugin:
    return LuaPlugin(name, body.encode())


def returning(expr: str, name: str = "p") -> LuaPlugin:
    return plugin(f"function GetWorkloadTypeAndName(meta)\n  return {expr}\nend\n", name)


def call(p: LuaPlugin, meta_json: str = '{"name":"x"}'):
    return p.call(to_lua_string(meta_json))


# -- results ------------------------------------------------------------------

def test_claim_with_type_normalised_case_insensitively():
    result = call(returning('"statefulset", "db"'))
    assert (result.status, result.type, result.name, result.error) == ("claim", "StatefulSet", "db", None)
    assert call(returning('"REPLICATIONCONTROLLER", "rc"')).type == "ReplicationController"


@pytest.mark.parametrize("expr", ['"", ""', '"Deployment", ""', '"", "web"'])
def test_any_empty_string_means_not_mine(expr):
    assert call(returning(expr)).status == "pass"


def test_unsupported_type_is_reported_not_claimed():
    result = call(returning('"Job", "report"'))
    assert (result.status, result.type, result.name) == ("unsupported", "Job", "report")


def test_plugin_sees_the_metadata_json_and_utf8_round_trips():
    p = returning('"Deployment", meta')
    text = '{"name":"café ☃"}'
    assert call(p, text).name == text


# -- errors of each kind ---------------------------------------------------------

def test_lua_error_in_call():
    result = call(plugin('function GetWorkloadTypeAndName(m)\n  error("boom")\nend\n', "bad"))
    assert result.status == "error"
    assert (result.error.kind, result.error.plugin, str(result.error)) == ("runtime", "bad", "bad.lua:2: boom")


def test_indexing_nil_in_call():
    result = call(plugin("function GetWorkloadTypeAndName(m)\n  local t = nil\n  return t.x, ''\nend\n", "nil"))
    assert result.error.kind == "runtime"
    assert str(result.error) == "nil.lua:3: attempt to index a nil value (local 't')"


def test_limit_in_call_is_a_plugin_error_with_position():
    result = call(plugin("function GetWorkloadTypeAndName(m)\n  while true do end\nend\n", "spin"))
    assert result.error.kind == "limit" and result.error.limit in ("steps", "time")
    assert str(result.error).startswith("spin.lua:2: ")
    assert result.error.metric_kind == f"limit_{result.error.limit}"


def test_pcall_cannot_hide_a_limit():
    body = "function GetWorkloadTypeAndName(m)\n  while true do pcall(function() while true do end end) end\nend\n"
    assert call(plugin(body)).error.kind == "limit"


@pytest.mark.parametrize("expr,message", [
    ("", "returned no first (workload type) value"),
    ('"Deployment"', "returned no second (workload name) value"),
    ('nil, "x"', "returned no first (workload type) value"),
])
def test_missing_values(expr, message):
    result = call(returning(expr, "m"))
    assert result.error.kind == "missing"
    assert str(result.error) == f"m.lua:1: GetWorkloadTypeAndName {message}; expected two strings"


@pytest.mark.parametrize("expr,what", [
    ('1, "x"', "a number as its first (workload type)"),
    ('"Deployment", 2', "a number as its second (workload name)"),
    ('{}, "x"', "a table as its first (workload type)"),
    ('"Deployment", true', "a boolean as its second (workload name)"),
])
def test_wrong_types(expr, what):
    result = call(returning(expr, "t"))
    assert result.error.kind == "type"
    assert str(result.error) == f"t.lua:1: GetWorkloadTypeAndName returned {what} value; expected two strings"


def test_syntax_error_at_load():
    with pytest.raises(PluginError) as info:
        plugin("function GetWorkloadTypeAndName(m)\n  return 'a' +\nend\n", "syn")
    assert info.value.kind == "syntax"
    assert str(info.value) == "syn.lua:3: unexpected symbol near 'end'"


def test_image_with_bom_and_hash_line_loads_like_a_lua_file():
    image = "\ufeff#!/usr/bin/env lua\nfunction GetWorkloadTypeAndName(m)\n  error('boom')\nend\n"
    result = call(plugin(image, "bom"))
    assert str(result.error) == "bom.lua:3: boom"  # the skipped line still counts


def test_top_level_error_at_load():
    with pytest.raises(PluginError) as info:
        plugin("local x = 1\nerror('no config')\n", "top")
    assert (info.value.kind, str(info.value)) == ("load", "top.lua:2: no config")


def test_top_level_runaway_at_load():
    with pytest.raises(PluginError) as info:
        plugin("local i = 0\nwhile true do i = i + 1 end\n", "loop")
    assert info.value.kind == "limit" and str(info.value).startswith("loop.lua:2: ")


@pytest.mark.parametrize("body,found", [
    ("local x = 1\n", "is not defined"),
    ("GetWorkloadTypeAndName = 42\n", "is a number"),
    ("local function GetWorkloadTypeAndName() end\n", "is not defined"),
])
def test_entry_point_must_be_a_global_function(body, found):
    with pytest.raises(PluginError) as info:
        plugin(body, "nofn")
    assert str(info.value) == f"nofn.lua: global function GetWorkloadTypeAndName {found}"


def test_oversized_source_is_refused():
    with pytest.raises(PluginError, match=r"source is 1048577 bytes; the limit is 1048576 \(1 MiB\)"):
        LuaPlugin("big", b"-" * (1024 * 1024 + 1))


def test_runtime_usable_after_errors():
    p = plugin('function GetWorkloadTypeAndName(m)\n'
               '  if m == "boom" then error("x") end\n'
               '  if m == "spin" then while true do end end\n'
               '  return "Deployment", m\nend\n')
    assert call(p, "boom").status == "error"
    assert call(p, "spin").status == "error"
    assert call(p, "ok").name == "ok"
    assert p.stats.calls == 3 and p.stats.claims == 1
    assert sum(p.stats.errors.values()) == 2


# -- each call sees a freshly loaded plugin ------------------------------------------

def test_globals_written_in_one_call_do_not_leak_into_the_next():
    p = plugin("count = 0\nconfig = {seen = 0}\n"
               "function GetWorkloadTypeAndName(m)\n"
               "  count = count + 1\n  config.seen = config.seen + 1\n  leaked = (leaked or 0) + 1\n"
               "  return 'Deployment', count .. ':' .. config.seen .. ':' .. leaked\nend\n")
    assert [call(p).name for _ in range(3)] == ["1:1:1"] * 3


def test_state_any_depth_down_and_in_upvalues_does_not_leak_into_the_next_call():
    # A counter and a cache the entry point closes over, and a table three
    # levels below a global, are state as much as the globals are.
    p = plugin("local count, cache = 0, {}\nrules = {by = {kind = {seen = 0}}}\n"
               "function GetWorkloadTypeAndName(m)\n"
               "  count = count + 1\n  cache[#cache + 1] = m\n"
               "  rules.by.kind.seen = rules.by.kind.seen + 1\n"
               "  return 'Deployment', count .. ':' .. #cache .. ':' .. rules.by.kind.seen\nend\n")
    assert [call(p).name for _ in range(3)] == ["1:1:1"] * 3


def test_library_changes_are_undone_between_calls():
    p = plugin("function GetWorkloadTypeAndName(m)\n"
               "  local r = string.upper('ok')\n  string.upper = nil\n  table.insert = nil\n"
               "  GetWorkloadTypeAndName = nil\n  return 'Deployment', r\nend\n")
    assert call(p).name == "OK"
    assert call(p).name == "OK"


def test_value_identity_not_equality_decides_a_change():
    # true == 1 in Python; the restore must still notice `flag = 1`.
    p = plugin("flag = true\nfunction GetWorkloadTypeAndName(m)\n"
               "  local was = tostring(flag)\n  flag = 1\n  return 'Deployment', was\nend\n")
    assert [call(p).name for _ in range(2)] == ["true", "true"]


def test_lua51_names_are_available():
    p = returning('"Deployment", tostring(table.getn({1, 2})) .. unpack({"-x"}) .. math.pow(2, 3)')
    assert call(p).name == "2-x8.0"


# -- the seed plugin -----------------------------------------------------------------

def seed_plugin():
    with open(SEED, "rb") as handle:
        return LuaPlugin("opengauss", handle.read())


def test_seed_plugin_claims_opengauss_pods_only():
    p = seed_plugin()
    podset = load_pods(SAMPLE)
    claims = {pod.name: call(p, pod.meta_json) for pod in podset.pods}
    assert (claims["gauss-ha-sts-0"].status, claims["gauss-ha-sts-0"].type,
            claims["gauss-ha-sts-0"].name) == ("claim", "StatefulSet", "gauss-ha")
    assert claims["og-prod-sts-0"].name == "og-prod"
    assert sorted(n for n, r in claims.items() if r.status == "claim") == ["gauss-ha-sts-0", "og-prod-sts-0"]
    assert all(r.status in ("claim", "pass") for r in claims.values())


# -- the chain -----------------------------------------------------------------------

def pod(**metadata):
    metadata.setdefault("namespace", "ns")
    metadata.setdefault("name", "pod")
    return make_pod(metadata)


CLAIM_ALL = 'function GetWorkloadTypeAndName(m) return "Deployment", "{name}" end'


def test_virtual_kubelet_rule_runs_before_plugins():
    chain = Chain([plugin(CLAIM_ALL.format(name="mine"), "all")])
    vk = pod(labels={"virtual-kubelet.io/provider-cluster-type": "serverless",
                     "virtual-kubelet.io/provider-resource-name": "api-x1"})
    assert chain.resolve(vk).outcome == Resolved("Deployment", "api", "builtin:virtual-kubelet")
    assert chain.resolve(pod()).outcome == Resolved("Deployment", "mine", "plugin:all")


def test_first_claiming_plugin_wins():
    chain = Chain([returning('"", ""', "skip"), plugin(CLAIM_ALL.format(name="one"), "one"),
                   plugin(CLAIM_ALL.format(name="two"), "two")])
    assert chain.resolve(pod()).outcome == Resolved("Deployment", "one", "plugin:one")


def test_failing_plugin_does_not_stop_the_chain():
    events = []
    bad = plugin("function GetWorkloadTypeAndName(m) error('bad plugin') end", "bad")
    chain = Chain([bad, plugin(CLAIM_ALL.format(name="good"), "good")],
                  on_event=lambda *e: events.append((e[0], e[1], e[3])))
    result = chain.resolve(pod(name="p1"), explain=True)
    assert result.outcome == Resolved("Deployment", "good", "plugin:good")
    assert events == [("plugin_error", "bad", "bad.lua:1: bad plugin")]
    assert [(s.step, s.said) for s in result.trail] == [
        ("builtin:virtual-kubelet", "does not apply"),
        ("plugin:bad", "error (runtime): bad.lua:1: bad plugin"),
        ("plugin:good", "claimed Deployment good"),
    ]


def test_unsupported_type_moves_on_to_the_builtin_rules():
    events = []
    chain = Chain([returning('"Job", "x"', "weird")], on_event=lambda *e: events.append(e[0]))
    owned = pod(ownerReferences=[{"kind": "StatefulSet", "name": "db", "controller": True}])
    result = chain.resolve(owned, explain=True)
    assert result.outcome == Resolved("StatefulSet", "db", "builtin:owner")
    assert events == ["unsupported_type"]
    assert result.trail[-1].step == "builtin:owner"


def test_unresolved_trail_and_summary():
    podset = load_pods(SAMPLE)
    results, summary = resolve_podset(podset, [returning('"", ""', "none")], explain=True)
    job = next(r for r in results if r.pod.name == "report-28041427-lrbzc")
    assert job.outcome == Unresolved("owned by Job")
    assert job.trail[-1].said == "unresolved: owned by Job"
    assert summary.total == 60
    assert summary.by_reason["owned by Job"] == 4
    assert summary.by_source["builtin:virtual-kubelet"] == 3


def test_summary_counts_plugin_errors():
    podset = load_pods(SAMPLE)
    flaky = plugin('function GetWorkloadTypeAndName(m)\n'
                   '  if m:find("OpenGaussCluster", 1, true) then error("no") end\n'
                   '  return "", ""\nend\n', "flaky")
    _, summary = resolve_podset(podset, [flaky])
    assert summary.plugin_errors == {"flaky": 2}


def test_results_do_not_depend_on_pod_order():
    podset = load_pods(SAMPLE)
    # A plugin that tries hard to remember earlier pods through globals.
    sticky = plugin("seen = {}\nlast = ''\n"
                    "function GetWorkloadTypeAndName(m)\n"
                    "  local n = #seen\n  seen[n + 1] = m\n"
                    "  if last ~= '' or n > 0 then return 'Deployment', 'remembered' end\n"
                    "  last = m\n"
                    "  if m:find('StrimziPodSet', 1, true) then return 'StatefulSet', 'kafka' end\n"
                    "  return '', ''\nend\n", "sticky")
    plugins = [sticky, seed_plugin()]
    expected = None
    rng = random.Random(7)
    for _ in range(4):
        rng.shuffle(podset.pods)
        results, summary = resolve_podset(podset, plugins)
        answer = [(r.pod.uid, r.outcome) for r in results]
        if expected is None:
            expected = answer
            assert summary.by_source["plugin:sticky"] == 2
            assert summary.by_source["plugin:opengauss"] == 2
            assert not [o for _, o in answer if isinstance(o, Resolved) and o.name == "remembered"]
        assert answer == expected


# -- the loader --------------------------------------------------------------------

def test_plugin_set_orders_by_priority_then_creation(tmp_path):
    store = PluginStore(str(tmp_path / "s.db"))
    store.create("second", CLAIM_ALL.format(name="second").encode())
    store.create("first", CLAIM_ALL.format(name="first").encode(), priority=-5)
    store.create("third", CLAIM_ALL.format(name="third").encode())
    plugin_set = PluginSet()
    assert plugin_set.sync(store.chain_order()) is True
    assert [p.name for p in plugin_set.plugins] == ["first", "second", "third"]
    assert Chain(plugin_set.plugins).resolve(pod()).outcome.source == "plugin:first"
    assert plugin_set.sync(store.chain_order()) is False


def test_invalid_new_version_never_displaces_a_working_one(tmp_path):
    store = PluginStore(str(tmp_path / "s.db"))
    store.create("p", CLAIM_ALL.format(name="v1").encode())
    events = []
    plugin_set = PluginSet(on_event=lambda *e: events.append(e))
    plugin_set.sync(store.chain_order())
    store.create("p", b"function GetWorkloadTypeAndName(", replace=True)
    assert plugin_set.sync(store.chain_order()) is False
    assert Chain(plugin_set.plugins).resolve(pod()).outcome.name == "v1"
    assert events[-1][0] == "plugin_load_failed" and events[-1][2].endswith("; keeping version 1")
    assert plugin_set.load_failures == {"p": 1}
    plugin_set.sync(store.chain_order())  # the same broken version is not retried or re-reported
    assert plugin_set.load_failures == {"p": 1}
    store.rollback("p", 1)
    plugin_set.sync(store.chain_order())
    assert plugin_set.versions() == {"p": 3}
    store.delete("p")
    assert plugin_set.sync(store.chain_order()) is True
    assert plugin_set.plugins == []


# -- a plugin that keeps running out of budget -------------------------------------

def test_crashes_count_towards_disabling_like_budget_errors():
    class Crashing:
        """A worker plugin whose worker dies on every call."""
        name = "crashy"
        stats = PluginStats()

        def call_many(self, metas):
            for _ in metas:
                self.calls = getattr(self, "calls", 0) + 1
                yield CallResult("error", error=PluginError("crashy", "crash", "crashy: worker died"))

    crashing = Crashing()
    pods = [pod(name=f"p{i}", uid=str(i)) for i in range(20)]
    _, summary = resolve_podset(PodSet(pods, {}, {}), [crashing])
    assert summary.disabled == ["crashy"] and crashing.calls == 4


def test_runaway_plugin_is_dropped_for_the_whole_pass():
    from luapy.options import Limits

    spin = LuaPlugin("spin", b'function GetWorkloadTypeAndName(m)\n'
                             b'  if m:find("Job", 1, true) then while true do end end\n'
                             b'  return "Deployment", "spin"\nend\n',
                     limits=Limits(steps=20_000, time=1.0))
    podset = load_pods(SAMPLE)
    disabled = []
    rng = random.Random(3)
    expected, _ = resolve_podset(podset, [seed_plugin()])
    for _ in range(2):
        rng.shuffle(podset.pods)
        results, summary = resolve_podset(podset, [spin, seed_plugin()], on_disabled=disabled.append)
        # 4 Job pods run out of budget: more than 3, so spin is out, for every pod.
        assert summary.disabled == ["spin"]
        assert [(r.pod.uid, r.outcome) for r in results] == [(r.pod.uid, r.outcome) for r in expected]
    assert [d.plugin for d in disabled] == ["spin", "spin"]
    assert str(disabled[0]).startswith("plugin spin ran out of budget or crashed on more than 3 pods (spin.lua:2: ")


def test_plugin_set_disable_keeps_a_version_out_until_replaced(tmp_path):
    store = PluginStore(str(tmp_path / "s.db"))
    store.create("p", CLAIM_ALL.format(name="v1").encode())
    plugin_set = PluginSet()
    plugin_set.sync(store.chain_order())
    plugin_set.disable("p", "too slow")
    assert plugin_set.plugins == [] and plugin_set.disabled == {"p": 1}
    plugin_set.sync(store.chain_order())
    assert plugin_set.plugins == []
    store.create("p", CLAIM_ALL.format(name="v2").encode(), replace=True)
    plugin_set.sync(store.chain_order())
    assert Chain(plugin_set.plugins).resolve(pod()).outcome.name == "v2"


def test_print_output_goes_to_the_sink_line_by_line():
    lines = []
    p = LuaPlugin("chatty", b'print("loaded")\nfunction GetWorkloadTypeAndName(m)\n'
                            b'  io_write = nil\n  print("pod", #m)\n  return "", ""\nend\n',
                  on_output=lambda name, line: lines.append((name, line)))
    call(p, "abc")
    assert lines == [("chatty", "loaded"), ("chatty", "pod\t3")]


def test_string_metatable_changes_are_undone_between_calls():
    p = plugin("function GetWorkloadTypeAndName(m)\n"
               "  local before = ('x'):upper()\n"
               "  getmetatable('').__index = {}\n"
               "  getmetatable('').__call = function() return 'called' end\n"
               "  return 'Deployment', before\nend\n")
    assert [call(p).name for _ in range(3)] == ["X", "X", "X"]


@pytest.mark.parametrize("file,claims", [
    ("argo-rollouts.lua", {"checkout-85ncjkg54-k64sp": ("Deployment", "checkout"),
                           "checkout-p5mcbz2dtd-6mngd": ("Deployment", "checkout"),
                           "recommendations-vp5b8frrg-k6h2q": ("Deployment", "recommendations")}),
    ("app-label.lua", {"one-off-task-54nhn": ("Deployment", "in-house"),
                       "netshoot-gt4bs": ("Deployment", "in-house")}),
    ("strimzi.lua", {"events-kafka-2": ("StatefulSet", "events-kafka"),
                     "my-cluster-kafka-1": ("StatefulSet", "my-cluster-kafka")}),
])
def test_example_plugins_claim_exactly_their_pods(file, claims):
    with open(os.path.join(ROOT, "examples", "plugins", file), "rb") as handle:
        p = LuaPlugin(file[:-4], handle.read())
    got = {}
    for pod in load_pods(os.path.join(ROOT, "examples", "pods.json")).pods:
        result = call(p, pod.meta_json)
        assert result.status in ("claim", "pass"), result
        if result.status == "claim":
            got[pod.name] = (result.type, result.name)
    assert got == claims


# -- a hostile plugin ----------------------------------------------------------------

def test_printing_megabytes_keeps_a_bounded_share_per_call():
    lines = []
    p = LuaPlugin("loud", b'function GetWorkloadTypeAndName(m)\n'
                          b'  for i = 1, 64 do print(("x"):rep(65536)) end\n  return "", ""\nend\n',
                  on_output=lambda name, line: lines.append(line))
    for _ in range(3):
        assert call(p).status == "pass"
    assert len(lines) == 3 * 2
    assert lines[:2] == ["x" * MAX_OUTPUT_PER_CALL,
                         f"[{64 * 65537 - MAX_OUTPUT_PER_CALL} more characters of output dropped: "
                         f"a call may print {MAX_OUTPUT_PER_CALL}]"]


def test_a_megabyte_answer_or_error_is_cut_not_kept():
    p = plugin('function GetWorkloadTypeAndName(m)\n'
               '  if m == "name" then return "Deployment", ("n"):rep(1e6) end\n'
               '  error(("e"):rep(1e6))\nend\n')
    result = call(p, "name")
    assert (result.status, result.error.kind) == ("error", "result")
    assert str(result.error) == ("p.lua:1: GetWorkloadTypeAndName returned a workload name of 1000000 bytes "
                                 f"(Kubernetes allows at most {MAX_WORKLOAD_NAME_BYTES})")
    result = call(p, "error")
    assert len(str(result.error)) < MAX_MESSAGE_CHARS + 100
    assert str(result.error).endswith(f"... ({len('p.lua:3: ') + 1_000_000 - MAX_MESSAGE_CHARS} more characters)")
