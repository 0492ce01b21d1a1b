"""``resolver resolve --watch -``: a line per pod change, printed as each change is read."""

import json
import os
import subprocess
import sys
import threading

from resolver.store import PluginStore

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def pod(name, uid, owner=("StatefulSet", "db"), **labels):
    return {"kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": "x", "uid": uid, "labels": labels,
                         "ownerReferences": [{"kind": owner[0], "name": owner[1], "controller": True}]},
            "spec": {"containers": [{"name": "c", "image": "i"}]}, "status": {"phase": "Running"}}


def start(tmp_path, *args):
    store = tmp_path / "plugins.db"
    PluginStore(str(store)).create("team", b'function GetWorkloadTypeAndName(m)\n'
                                           b'  if m:find("team", 1, true) then return "Deployment", "teamed" end\n'
                                           b'  return "", ""\nend\n')
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.Popen([sys.executable, "-m", "resolver", "resolve", "--store", str(store), "--watch",
                             *args, "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def test_kubectl_watch_output_gets_a_line_per_change_as_it_arrives(tmp_path):
    proc = start(tmp_path)
    try:
        # kubectl get pods -A -w -o json: indented objects, one after another, no separator.
        proc.stdin.write(json.dumps(pod("a", "1"), indent=4) + "\n")
        proc.stdin.flush()
        assert proc.stdout.readline() == "x/a\tStatefulSet\tdb\tbuiltin:owner\n"  # before the stream ends
        proc.stdin.write(json.dumps(pod("a", "1", team="blue"), indent=4))
        proc.stdin.write(json.dumps(pod("b", "2"), indent=4))
        proc.stdin.flush()
        assert proc.stdout.readline() == "x/a\tDeployment\tteamed\tplugin:team\n"
        assert proc.stdout.readline() == "x/b\tStatefulSet\tdb\tbuiltin:owner\n"
        # --output-watch-events: a DELETED event removes the pod.
        proc.stdin.write(json.dumps({"type": "DELETED", "object": pod("b", "2")}) + "\n")
        proc.stdin.close()
        assert proc.stdout.read() == "x/b\tdeleted\n"
        assert proc.wait(10) == 0
    finally:
        proc.kill()
        proc.wait()


def test_ndjson_with_json_output_and_unchanged_pods_print_nothing(tmp_path):
    proc = start(tmp_path, "-o", "json")
    lines = [pod("a", "1"), dict(pod("a", "1"), status={"phase": "Failed"}), pod("c", "3", owner=("DaemonSet", "ds"))]
    out, err = proc.communicate("".join(json.dumps(obj) + "\n" for obj in lines), timeout=30)
    assert proc.returncode == 0, err
    answers = [json.loads(line) for line in out.splitlines()]
    # The status-only change is not a change to the answer's input: no line for it.
    assert [(a["pod"], a["type"], a["name"]) for a in answers] == [("a", "StatefulSet", "db"), ("c", "DaemonSet", "ds")]


def test_bad_input_is_a_positioned_error_after_the_lines_before_it(tmp_path):
    proc = start(tmp_path)
    out, err = proc.communicate(json.dumps(pod("a", "1")) + "\n{not json\n", timeout=30)
    assert out == "x/a\tStatefulSet\tdb\tbuiltin:owner\n"
    assert proc.returncode != 0 and "<stdin>:2:" in err and "Traceback" not in err


def test_a_plugin_change_in_the_middle_of_the_stream_re_resolves_what_it_changes(tmp_path):
    proc = start(tmp_path, "-o", "json")
    store = PluginStore(str(tmp_path / "plugins.db"))
    watchdog = threading.Timer(60, proc.kill)  # a line that never comes fails the test, not the run
    watchdog.start()

    def answers(count):
        return [(a["pod"], a.get("name", "deleted" if a.get("deleted") else "-"), a.get("source"))
                for a in (json.loads(proc.stdout.readline()) for _ in range(count))]

    try:
        proc.stdin.write(json.dumps(pod("a", "1")) + "\n" + json.dumps(pod("b", "2", team="red")) + "\n")
        proc.stdin.flush()
        assert answers(2) == [("a", "db", "builtin:owner"), ("b", "teamed", "plugin:team")]
        # A new version claims every pod: both answers change, with no pod change on the stream.
        store.create("team", b'function GetWorkloadTypeAndName(m) return "Deployment", "all" end')
        assert answers(2) == [("a", "all", "plugin:team"), ("b", "all", "plugin:team")]
        # Another plugin, after it in the chain, changes no answer: no line.
        store.create("late", b'function GetWorkloadTypeAndName(m) return "Deployment", "late" end', priority=10)
        proc.stdin.write(json.dumps(pod("c", "3")) + "\n")
        proc.stdin.flush()
        assert answers(1) == [("c", "all", "plugin:team")]
        # Deleted: each answer falls to the next in the chain.
        store.delete("team")
        assert answers(3) == [("a", "late", "plugin:late"), ("b", "late", "plugin:late"), ("c", "late", "plugin:late")]
        proc.stdin.write(json.dumps({"type": "DELETED", "object": pod("c", "3")}) + "\n")
        proc.stdin.close()
        assert [json.loads(line) for line in proc.stdout.read().splitlines()] == [
            {"namespace": "x", "pod": "c", "uid": "3", "deleted": True}]
        assert proc.wait(10) == 0
    finally:
        watchdog.cancel()
        proc.kill()
        proc.wait()


def test_the_progress_bar_covers_reading_when_stderr_is_a_terminal(tmp_path, monkeypatch, capsys):
    import io

    from resolver import cli

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    pods_file = tmp_path / "pods.json"
    pods_file.write_text(json.dumps({"kind": "PodList", "items": [pod(f"p{i}", str(i)) for i in range(3000)]}))
    PluginStore(str(tmp_path / "plugins.db")).create("none", b'function GetWorkloadTypeAndName(m) return "", "" end')
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert cli.main(["resolve", "--store", str(tmp_path / "plugins.db"), "-o", "json", str(pods_file)]) == 0
    shown = terminal.getvalue()
    assert "MiB read" in shown and "/1 MiB" in shown  # bytes read of the file's size, while parsing
    assert json.loads(capsys.readouterr().out)["summary"]["pods"] == 3000


def test_progress_goes_on_while_the_built_in_rules_settle_pods_with_no_plugin_to_ask():
    from resolver.chain import Chain
    from resolver.pods import make_pod

    pods = [make_pod(pod(f"p{i}", str(i))["metadata"]) for i in range(1000)]
    shown = []
    results, _ = Chain([]).resolve_all(pods, progress=shown.append)
    assert shown == [256, 512, 768, 1000] and len(results) == 1000
