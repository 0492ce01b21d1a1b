"""The real ``resolver`` commands, run as subprocesses against a temporary store."""

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SAMPLE = os.path.join(HERE, "..", "data", "pods-sample.json")
EXAMPLES = os.path.join(ROOT, "examples")
SEED = os.path.join(EXAMPLES, "plugins", "opengauss.lua")


@pytest.fixture
def run(tmp_path):
    """``resolver`` with an empty store in $RESOLVER_STORE (read commands need one to exist)."""
    from resolver.store import PluginStore
    PluginStore(str(tmp_path / "plugins.db")).close()
    env = dict(os.environ, RESOLVER_STORE=str(tmp_path / "plugins.db"), PYTHONPATH=ROOT)

    def run(*args, stdin=None, check_rc=None):
        proc = subprocess.run([sys.executable, "-m", "resolver", *args], cwd=str(tmp_path), env=env,
                              input=stdin, capture_output=True, text=True, timeout=60)
        assert "Traceback" not in proc.stderr, proc.stderr
        if check_rc is not None:
            assert proc.returncode == check_rc, (proc.stdout, proc.stderr)
        return proc

    run.tmp = tmp_path
    return run


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def rows(stdout):
    return [line.split() for line in stdout.splitlines()]


# -- plugin create -----------------------------------------------------------------

def test_deepflow_ctl_style_create_then_list(run):
    created = run("plugin", "create", "--type", "lua", "--image", SEED, "--name", "opengauss", "--user", "server",
                  check_rc=0)
    assert created.stdout.startswith("plugin opengauss stored (version 1, sha256 ")
    listing = run("plugin", "list", check_rc=0).stdout.splitlines()
    assert listing[0].split() == ["TYPE", "NAME", "USER", "UPDATED_AT", "PRIORITY"]
    fields = listing[1].split()
    assert fields[:3] == ["lua", "opengauss", "server"] and fields[-1] == "0"
    # Columns are aligned: every row starts NAME at the header's offset.
    assert listing[1].index("opengauss") == listing[0].index("NAME")


def test_create_refuses_wasm_and_so(run):
    for kind in ("wasm", "so"):
        proc = run("plugin", "create", "--type", kind, "--image", SEED, "--name", "x", check_rc=1)
        assert proc.stderr == (f"resolver: plugin type '{kind}' is not supported: this resolver runs Lua plugins "
                               "only (use --type lua; DeepFlow's wasm and so plugins extend its agent)\n")
    assert run("plugin", "list", "-o", "json", check_rc=0).stdout == "[]\n"


def test_create_validation_errors_have_file_and_line_and_store_nothing(run):
    tmp = run.tmp
    cases = {
        "syntax.lua": ("function GetWorkloadTypeAndName(m)\n  return 'a' +\nend\n", "syntax.lua:3:"),
        "toplevel.lua": ("local x = nil\nlocal y = x.field\n", "toplevel.lua:2: attempt to index a nil value"),
        "loop.lua": ("while true do end\n", "loop.lua:1: "),
        "nofunc.lua": ("x = 1\n", "nofunc.lua: global function GetWorkloadTypeAndName is not defined"),
    }
    for name, (source, expected) in cases.items():
        write(tmp, name, source)
        # The file as the user named it (run() works in tmp).
        proc = run("plugin", "create", "--type", "lua", "--image", name, "--name", "n", check_rc=1)
        assert proc.stderr.startswith("resolver: " + expected), proc.stderr
    missing = run("plugin", "create", "--type", "lua", "--image", str(tmp / "absent.lua"), "--name", "n", check_rc=1)
    assert missing.stderr == f"resolver: {tmp / 'absent.lua'}: No such file or directory\n"
    big = tmp / "big.lua"
    big.write_bytes(b"-" * (1024 * 1024 + 1))
    proc = run("plugin", "create", "--type", "lua", "--image", str(big), "--name", "n", check_rc=1)
    assert proc.stderr == f"resolver: {big}: plugin is 1048577 bytes; the limit is 1048576 (1 MiB)\n"
    assert run("plugin", "list", "-o", "json", check_rc=0).stdout == "[]\n"


def test_existing_name_is_updated_with_history_and_rollback(run):
    v1 = write(run.tmp, "v1.lua", 'function GetWorkloadTypeAndName(m) return "Deployment", "one" end\n')
    v2 = write(run.tmp, "v2.lua", 'function GetWorkloadTypeAndName(m) return "Deployment", "two" end\n')
    run("plugin", "create", "--type", "lua", "--image", v1, "--name", "p", "--priority", "3", check_rc=0)
    # As DeepFlow's CreatePlugin: an existing name is updated (--replace is a no-op);
    # the priority is kept when not given.
    proc = run("plugin", "create", "--type", "lua", "--image", v2, "--name", "p", check_rc=0)
    assert proc.stdout.startswith("plugin p stored (version 2, sha256 ")
    assert json.loads(run("plugin", "list", "-o", "json").stdout)[0]["priority"] == 3
    run("plugin", "create", "--type", "lua", "--image", v2, "--name", "p", "--replace", check_rc=0)
    run("plugin", "rollback", "p", "2", check_rc=0)
    assert '"two"' in run("plugin", "show", "p", check_rc=0).stdout
    history = rows(run("plugin", "history", "p", check_rc=0).stdout)
    assert history[0] == ["VERSION", "STORED_AT", "SHA256", "USER", "PRIORITY", "NOTE"]
    assert [r[0] for r in history[1:]] == ["4", "3", "2", "1"] and history[1][1] == "*"
    proc = run("plugin", "rollback", "p", "1", check_rc=0)
    assert proc.stdout.startswith("plugin p rolled back: version 5 is now current")
    assert '"one"' in run("plugin", "show", "p", check_rc=0).stdout
    data = json.loads(run("plugin", "history", "p", "-o", "json", check_rc=0).stdout)
    assert [(v["version"], v["note"], v["current"]) for v in data] == [
        (5, "rollback to 1", True), (4, "rollback to 2", False), (3, "replaced", False), (2, "replaced", False),
        (1, "created", False)]
    wide = rows(run("plugin", "list", "-o", "wide", check_rc=0).stdout)
    assert wide[0] == ["TYPE", "NAME", "USER", "UPDATED_AT", "PRIORITY", "VERSIONS", "SIZE", "SHA256"]
    assert wide[1][:3] == ["lua", "p", "server"] and wide[1][-4:-1] == ["3", "5", str(os.path.getsize(v1))]
    assert len(wide[1][-1]) == 64
    run("plugin", "create", "--type", "lua", "--image", v2, "--name", "p", "--keep-versions", "2", check_rc=0)
    assert [v["version"] for v in json.loads(run("plugin", "history", "p", "-o", "json").stdout)] == [6, 5]


def test_delete_and_missing_names(run):
    run("plugin", "create", "--type", "lua", "--image", SEED, "--name", "og", check_rc=0)
    assert run("plugin", "delete", "og", check_rc=0).stdout == "plugin og deleted\n"
    assert run("plugin", "delete", "og", check_rc=1).stderr == "resolver: plugin 'og' not found\n"
    assert run("plugin", "show", "og", check_rc=1).stderr == "resolver: plugin 'og' not found\n"


def test_list_formats(run):
    run("plugin", "create", "--type", "lua", "--image", SEED, "--name", "og", "--user", "agent", check_rc=0)
    data = json.loads(run("plugin", "list", "-o", "json", check_rc=0).stdout)
    assert [(d["name"], d["user"], d["type"], d["priority"], d["version"]) for d in data] == \
        [("og", "agent", "lua", 0, 1)]
    yaml = pytest.importorskip("yaml")
    assert yaml.safe_load(run("plugin", "list", "-o", "yaml", check_rc=0).stdout) == data


def test_store_flag_overrides_environment(run):
    other = str(run.tmp / "other.db")
    run("--store", other, "plugin", "create", "--type", "lua", "--image", SEED, "--name", "a", check_rc=0)
    run("plugin", "create", "--type", "lua", "--image", SEED, "--name", "b", "--store", other, check_rc=0)
    assert [d["name"] for d in json.loads(run("plugin", "list", "-o", "json", "--store", other).stdout)] == ["b", "a"]
    assert json.loads(run("plugin", "list", "-o", "json").stdout) == []


def test_read_commands_refuse_a_missing_store(run):
    typo = str(run.tmp / "tpyo.db")
    for command in (["plugin", "list"], ["plugin", "show", "x"], ["plugin", "history", "x"],
                    ["resolve", SAMPLE]):
        proc = run("--store", typo, *command, check_rc=1)
        assert proc.stderr == (f"resolver: {typo}: no plugin store here (create one with 'resolver plugin "
                               "create', or pass --store)\n"), command
    assert not os.path.exists(typo)
    run("--store", typo, "plugin", "create", "--type", "lua", "--image", SEED, "--name", "og", check_rc=0)
    run("--store", typo, "plugin", "list", check_rc=0)


def test_names_and_priorities_are_checked(run):
    for name in ("a b/c", "tab\there", "x" * 254, ""):
        proc = run("plugin", "create", "--type", "lua", "--image", SEED, "--name", name, check_rc=1)
        assert "is invalid: use 1-253 characters of letters, digits, '.', '_' and '-'" in proc.stderr
    proc = run("plugin", "create", "--type", "lua", "--image", SEED, "--name", "og", "--priority", str(10**20),
               check_rc=1)
    assert proc.stderr.endswith("resolver: argument --priority: 100000000000000000000 is out of range "
                                "(-2147483648 to 2147483647)\n")
    assert json.loads(run("plugin", "list", "-o", "json").stdout) == []


def test_version_flag(run):
    assert run("--version", check_rc=0).stdout.startswith("resolver 0.1.0 (luapy ")


# -- resolve --------------------------------------------------------------------------

def test_resolve_table_with_seed_plugin_and_summary(run):
    run("plugin", "create", "--type", "lua", "--image", SEED, "--name", "opengauss", check_rc=0)
    out = run("resolve", os.path.join(EXAMPLES, "pods.json"), check_rc=0).stdout
    table = rows(out)
    assert table[0] == ["NAMESPACE", "POD", "TYPE", "NAME", "SOURCE"]
    og = [r for r in table if len(r) == 5 and r[0] == "opengauss"]
    assert og == [["opengauss", f"ogtest-sts-{i}", "StatefulSet", "ogtest", "plugin:opengauss"] for i in range(3)]
    assert ["ml-serving", "checkout-v2-qh2gmk9zk-6jh62", "Deployment", "checkout-v2",
            "builtin:replicaset-owner"] in table
    summary = out[out.index("SUMMARY: 63 pods"):].splitlines()
    assert "  plugin:opengauss" in "\n".join(summary)
    assert any(line.split() == ["plugin:opengauss", "5"] for line in summary)
    assert any(line.split() == ["unresolved:", "owned", "by", "Job", "4"] for line in summary)


def test_resolve_stdin_json_output(run):
    with open(SAMPLE) as handle:
        proc = run("resolve", "-", "-o", "json", stdin=handle.read(), check_rc=0)
    data = json.loads(proc.stdout)
    assert data["summary"]["pods"] == 60
    assert data["summary"]["by_source"]["builtin:virtual-kubelet"] == 3
    eci = next(r for r in data["results"] if r["pod"] == "eci-web-mw277cqrmd-jlwf4")
    assert (eci["type"], eci["name"], eci["source"]) == ("Deployment", "eci-web", "builtin:virtual-kubelet")
    job = next(r for r in data["results"] if r["pod"] == "report-28041427-lrbzc")
    assert job["unresolved"] == "owned by Job"


def test_resolve_yaml_and_wide(run):
    yaml = pytest.importorskip("yaml")
    data = yaml.safe_load(run("resolve", SAMPLE, "-o", "yaml", check_rc=0).stdout)
    assert data["summary"]["pods"] == 60
    wide = rows(run("resolve", SAMPLE, "-o", "wide", check_rc=0).stdout)
    assert wide[0] == ["NAMESPACE", "POD", "TYPE", "NAME", "SOURCE", "UID", "OWNER"]
    mysql = next(r for r in wide if r[1:2] == ["mysql-0"])
    assert mysql[-1] == "StatefulSet/mysql"


def test_resolve_explain_shows_every_plugin(run):
    bad = write(run.tmp, "bad.lua", 'function GetWorkloadTypeAndName(m)\n  error("broken")\nend\n')
    run("plugin", "create", "--type", "lua", "--image", SEED, "--name", "opengauss", check_rc=0)
    # Validation cannot see call-time errors: this plugin loads, then fails per pod.
    proc = run("plugin", "create", "--type", "lua", "--image", bad, "--name", "bad", "--priority", "-1")
    assert proc.returncode == 0
    out = run("resolve", SAMPLE, "--explain", check_rc=3)  # 3: a plugin call failed
    assert run("resolve", SAMPLE, "--allow-plugin-errors", check_rc=0).stdout == out.stdout.split("\nEXPLAIN")[0] \
        + out.stdout[out.stdout.index("\nSUMMARY"):]
    text = out.stdout
    block = text[text.index("data/gauss-ha-sts-0"):].splitlines()[:5]
    assert [line.split(None, 1) for line in block[1:4]] == [
        ["builtin:virtual-kubelet", "does not apply"],
        ["plugin:bad", "error (runtime): bad.lua:2: broken"],
        ["plugin:opengauss", "claimed StatefulSet gauss-ha"],
    ]
    assert "resolver: plugin bad: error: data/events-kafka-2: bad.lua:2: broken" in out.stderr
    assert "plugin bad: further messages not shown" in out.stderr
    assert any(line.split() == ["plugin", "errors:", "bad", "57"] for line in text.splitlines())


def test_resolve_bad_input_is_a_clean_error(run):
    path = write(run.tmp, "broken.json", '{"kind": "List", "items": [}')
    assert run("resolve", path, check_rc=1).stderr == f"resolver: {path}:1:28: invalid JSON: Expecting value\n"
    assert run("resolve", str(run.tmp / "nope.json"), check_rc=1).stderr == \
        f"resolver: {run.tmp / 'nope.json'}: No such file or directory\n"


def test_usage_errors_exit_1_without_traceback(run):
    proc = run("plugin", "create", "--type", "lua", check_rc=1)
    assert "resolver: the following arguments are required: --image, --name" in proc.stderr
    assert run("bogus", check_rc=1).stderr.startswith("usage: resolver")


# -- plugin test -------------------------------------------------------------------

def test_plugin_test_with_image_is_a_dry_run(run):
    proc = run("plugin", "test", "--image", SEED, SAMPLE, check_rc=0)
    table = rows(proc.stdout)
    assert table[0] == ["NAMESPACE", "POD", "RESULT", "DETAIL"]
    assert ["data", "gauss-ha-sts-0", "CLAIM", "StatefulSet", "gauss-ha"] in table
    assert ["data", "mysql-0"] not in [r[:2] for r in table]
    assert "60 pods: 2 claim, 58 pass" in proc.stdout
    assert "pods/s)" in proc.stdout
    assert json.loads(run("plugin", "list", "-o", "json").stdout) == []


def test_plugin_test_stored_plugin_with_errors_exits_1(run):
    path = write(run.tmp, "half.lua", 'function GetWorkloadTypeAndName(m)\n'
                                      '  if m:find("Job", 1, true) then return 1, "x" end\n'
                                      '  return "", ""\nend\n')
    run("plugin", "create", "--type", "lua", "--image", path, "--name", "half", check_rc=0)
    proc = run("plugin", "test", "half", SAMPLE, check_rc=1)
    assert "60 pods: 56 pass, 4 error" in proc.stdout
    job = next(line for line in proc.stdout.splitlines() if "report-28041427-lrbzc" in line)
    assert job.split(None, 3)[2:] == ["ERROR", "type: half.lua:1: GetWorkloadTypeAndName returned a number as its "
                                               "first (workload type) value; expected two strings"]


# -- progress bar -------------------------------------------------------------------

class _Terminal:
    def __init__(self, tty):
        self.tty = tty
        self.text = ""

    def isatty(self):
        return self.tty

    def write(self, text):
        self.text += text

    def flush(self):
        pass


def test_progress_bar_only_on_a_terminal_and_only_for_long_runs(monkeypatch):
    from resolver.cli import _Progress

    terminal = _Terminal(True)
    monkeypatch.setattr(sys, "stderr", terminal)
    progress = _Progress(2000, "pods")
    progress(1000)
    assert terminal.text == "\r[###############...............] 1000/2000 pods"
    progress(2000)
    assert terminal.text.endswith("\r" + " " * 70 + "\r")
    pipe = _Terminal(False)
    monkeypatch.setattr(sys, "stderr", pipe)
    _Progress(2000, "pods")(1000)
    _Progress(10, "pods")(5)
    assert pipe.text == ""


def test_resolve_treats_impossible_names_as_plugin_errors(run):
    huge = write(run.tmp, "huge.lua", 'function GetWorkloadTypeAndName(m)\n'
                                      '  return "Deployment", string.rep("x", 60 * 1024 * 1024)\nend\n')
    run("plugin", "create", "--type", "lua", "--image", huge, "--name", "huge", check_rc=0)
    proc = run("resolve", SAMPLE, "-o", "json", check_rc=3)
    data = json.loads(proc.stdout)
    assert data["summary"]["plugin_errors"] == {"huge": 57}
    assert not any(r.get("source") == "plugin:huge" for r in data["results"])
    assert ("GetWorkloadTypeAndName returned a workload name of 62914560 bytes (Kubernetes allows at most 253)"
            in proc.stderr)
