"""The ``resolver`` command line (deepflow-ctl compatible plugin commands).

    resolver plugin create --type lua --image FILE --name NAME [--user server|agent]
                           [--priority N] [--keep-versions N]
    resolver plugin list [-o table|json|yaml|wide]
    resolver plugin delete NAME
    resolver plugin show NAME
    resolver plugin history NAME [-o table|json|yaml]
    resolver plugin rollback NAME [VERSION]
    resolver plugin test (NAME | --image FILE) PODS
    resolver resolve [PODS|-] [-o table|json|yaml|wide] [--explain] [--allow-plugin-errors]
    resolver resolve --watch [-o table|json] -      (kubectl get pods -A -w -o json | ...)
    resolver serve [--pods FILE|DIR | --kubernetes [--kubeconfig PATH] [--context NAME]]
                   [--listen HOST:PORT] [--token-file PATH] ...
    resolver --version

Every command takes ``--store PATH``; ``plugin`` commands take ``--server
URL`` to work through a running service.  Errors print ``resolver: ...``
and exit 1 (``resolve`` exits 3 when a plugin failed); no Python
traceback ever reaches the user.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

from .output import table, to_json, to_yaml

PROG = "resolver"

#: ``resolve``'s exit status when a plugin failed to load or failed a call.
EXIT_PLUGIN_ERRORS = 3


class CommandError(Exception):
    """A user-facing failure: printed as ``resolver: message``, exit 1."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        raise CommandError(message)


# -- helpers ----------------------------------------------------------------

def _open_store(args, create: bool = False):
    """The store; only ``create`` (plugin create, serve) may make a new one.

    A store named with ``--store`` or ``$RESOLVER_STORE`` must exist for
    commands that only read it: a typo must not read as "no plugins".
    """
    from .store import DEFAULT_KEEP_VERSIONS, PluginStore, StoreError
    explicit = args.store or os.environ.get("RESOLVER_STORE")
    keep = getattr(args, "keep_versions", None) or DEFAULT_KEEP_VERSIONS
    try:
        return PluginStore(args.store, create=create or not explicit, keep_versions=keep)
    except StoreError as exc:
        raise CommandError(str(exc)) from None


def _token(args) -> str | None:
    """The bearer token: ``--token-file``, else ``--token``, else ``$RESOLVER_TOKEN``."""
    path = getattr(args, "token_file", None)
    if path:
        if getattr(args, "token", None):
            raise CommandError("give --token or --token-file, not both")
        try:
            with open(path, encoding="utf-8") as handle:
                token = handle.read().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{path}: cannot read the token: {getattr(exc, 'strerror', None) or exc}") from None
        if not token:
            raise CommandError(f"{path}: the token file is empty")
        return token
    return getattr(args, "token", None) or os.environ.get("RESOLVER_TOKEN") or None


def _backend(args, create: bool = False):
    """The store, or a client of a running service with ``--server``."""
    if getattr(args, "server", None):
        from .client import ServiceClient
        return ServiceClient(args.server, token=_token(args))
    return _open_store(args, create=create)


def _priority(text: str) -> int:
    """``--priority``: an integer within the store's 32-bit range."""
    from .store import PRIORITY_MAX, PRIORITY_MIN
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer {text!r}") from None
    if not PRIORITY_MIN <= value <= PRIORITY_MAX:
        raise argparse.ArgumentTypeError(f"{value} is out of range ({PRIORITY_MIN} to {PRIORITY_MAX})")
    return value


def _default_isolation() -> str:
    """``process`` where the platform has the OS limits it relies on.

    Pods go to each worker 256 per round trip, so isolation costs about the
    CPU of running in-process (bench/bench_isolation.py) and is the only
    thing that stops a long C-level call, a crash or memory beyond the
    accounting.  Checked without starting anything: ``workers.available()``
    starts the fork server, which only ``serve`` needs.
    """
    import os
    try:
        import resource
    except ImportError:
        return "in-process"
    return "process" if os.name == "posix" and hasattr(resource, "RLIMIT_AS") else "in-process"


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer")
    return value


def _read_plugin_file(path: str) -> bytes:
    from .plugins import MAX_SOURCE_BYTES
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise CommandError(f"{path}: {exc.strerror or exc}") from None
    if not os.path.isfile(path):
        raise CommandError(f"{path}: not a regular file")
    if size > MAX_SOURCE_BYTES:
        raise CommandError(f"{path}: plugin is {size} bytes; the limit is {MAX_SOURCE_BYTES} (1 MiB)")
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise CommandError(f"{path}: {exc.strerror or exc}") from None


def _load_plugin(name: str, source: bytes, chunkname: str):
    from .plugins import LuaPlugin, PluginError
    try:
        return LuaPlugin(name, source, chunkname=chunkname)
    except PluginError as exc:
        raise CommandError(str(exc)) from None


def _load_pods(path: str, progress=None):
    from .pods import PodInputError, load_pods
    try:
        return load_pods(path, progress=progress)
    except PodInputError as exc:
        raise CommandError(str(exc)) from None


def _short_time(stamp: str) -> str:
    """``2026-11-27T12:00:36.290340Z`` -> ``2026-11-27 12:00:36``."""
    return stamp[:19].replace("T", " ")


class _Progress:
    """A one-line progress bar on stderr, only when stderr is a terminal."""

    def __init__(self, total: int, label: str):
        self.total = total
        self.label = label
        self.enabled = total >= 1000 and sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < self.total and now - self.last < 0.1:
            return
        self.last = now
        width = 30
        filled = width * done // max(self.total, 1)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} {self.label}")
        if done >= self.total:
            sys.stderr.write("\r" + " " * (width + 40) + "\r")
        sys.stderr.flush()


class _ReadProgress:
    """Bytes read and parsed, on stderr, only when stderr is a terminal (``load_pods``'s ``progress``)."""

    def __init__(self, label: str):
        self.label = label
        self.enabled = sys.stderr.isatty()
        self.last = 0.0
        self.shown = False

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last < 0.1:
            return
        self.last = now
        self.shown = True
        mib = done / (1024 * 1024)
        if total:
            width = 30
            filled = width * min(done, total) // total
            line = f"[{'#' * filled}{'.' * (width - filled)}] {mib:.0f}/{total / (1024 * 1024):.0f} MiB {self.label}"
        else:
            line = f"{mib:.0f} MiB {self.label}"
        sys.stderr.write(f"\r{line}")
        sys.stderr.flush()

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\r" + " " * 72 + "\r")
            sys.stderr.flush()


class _ErrorPrinter:
    """Plugin errors during ``resolve``, to stderr, a bounded number per plugin."""

    LIMIT = 20

    def __init__(self):
        self.counts: dict[str, int] = {}

    def __call__(self, event, plugin, pod, message) -> None:
        count = self.counts[plugin] = self.counts.get(plugin, 0) + 1
        if count <= self.LIMIT:
            what = "error" if event == "plugin_error" else "warning"
            print(f"{PROG}: plugin {plugin}: {what}: {pod.namespace}/{pod.name}: {message}", file=sys.stderr)
        elif count == self.LIMIT + 1:
            print(f"{PROG}: plugin {plugin}: further messages not shown (see the summary)", file=sys.stderr)


# -- plugin commands --------------------------------------------------------

def cmd_plugin_create(args) -> int:
    """Store a plugin; an existing name gets a new version (DeepFlow's CreatePlugin)."""
    from .service import unsupported_type_message
    from .store import StoreError, check_name
    if args.type.lower() != "lua":
        raise CommandError(unsupported_type_message(args.type))
    try:
        check_name(args.name)
    except StoreError as exc:
        raise CommandError(str(exc)) from None
    source = _read_plugin_file(args.image)
    # Validate before storing: parses, top level runs within budget, defines the function.
    _load_plugin(args.name, source, "@" + args.image)
    backend = _backend(args, create=True)
    from .client import ClientError
    extra = {"filename": os.path.basename(args.image)} if getattr(args, "server", None) else {}
    try:
        record = backend.create(args.name, source, type="lua", user=args.user, priority=args.priority, **extra)
    except (StoreError, ClientError) as exc:
        raise CommandError(str(exc)) from None
    print(f"plugin {record.name} stored (version {record.version}, sha256 {record.sha256[:12]})")
    return 0


def _records_output(backend, fmt: str) -> str:
    if fmt == "wide":
        rows = [[r.type, r.name, r.user, _short_time(r.updated_at), str(r.priority), str(versions), str(size),
                 r.sha256] for r, versions, size in backend.list_wide()]
        return table(["TYPE", "NAME", "USER", "UPDATED_AT", "PRIORITY", "VERSIONS", "SIZE", "SHA256"], rows)
    records = backend.list()
    if fmt == "json":
        return to_json([r.as_dict() for r in records])
    if fmt == "yaml":
        return to_yaml([r.as_dict() for r in records]) if records else "[]\n"
    rows = [[r.type, r.name, r.user, _short_time(r.updated_at), str(r.priority)] for r in records]
    return table(["TYPE", "NAME", "USER", "UPDATED_AT", "PRIORITY"], rows)


def cmd_plugin_list(args) -> int:
    from .client import ClientError
    try:
        text = _records_output(_backend(args), args.output)
    except ClientError as exc:
        raise CommandError(str(exc)) from None
    sys.stdout.write(text)
    return 0


def _store_call(args, method: str, *call_args):
    from .client import ClientError
    from .store import StoreError
    try:
        return getattr(_backend(args), method)(*call_args)
    except (StoreError, ClientError) as exc:
        raise CommandError(str(exc)) from None


def cmd_plugin_delete(args) -> int:
    _store_call(args, "delete", args.name)
    print(f"plugin {args.name} deleted")
    return 0


def cmd_plugin_show(args) -> int:
    record = _store_call(args, "get", args.name)
    text = record.source.decode("utf-8", "replace")
    sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    return 0


def cmd_plugin_history(args) -> int:
    versions = _store_call(args, "history", args.name)
    if args.output == "json":
        sys.stdout.write(to_json([v.as_dict() for v in versions]))
    elif args.output == "yaml":
        sys.stdout.write(to_yaml([v.as_dict() for v in versions]))
    else:
        rows = [[str(v.version) + (" *" if v.current else ""), _short_time(v.stored_at), v.sha256[:12],
                 v.user, str(v.priority), v.note] for v in versions]
        sys.stdout.write(table(["VERSION", "STORED_AT", "SHA256", "USER", "PRIORITY", "NOTE"], rows))
    return 0


def cmd_plugin_rollback(args) -> int:
    record = _store_call(args, "rollback", args.name, args.version)
    print(f"plugin {record.name} rolled back: version {record.version} is now current "
          f"(sha256 {record.sha256[:12]})")
    return 0


def cmd_plugin_test(args) -> int:
    from .chain import describe_call
    from .plugins import to_lua_string
    if args.image:
        if args.name_or_pods and args.pods:
            raise CommandError("give either a plugin NAME or --image FILE, not both")
        pods_path = args.pods or args.name_or_pods
        source = _read_plugin_file(args.image)
        name = os.path.splitext(os.path.basename(args.image))[0]
        chunkname = "@" + args.image
    else:
        if not args.name_or_pods or not args.pods:
            raise CommandError("usage: resolver plugin test (NAME | --image FILE) PODS")
        record = _store_call(args, "get", args.name_or_pods)
        name, source, pods_path = record.name, record.source, args.pods
        chunkname = f"@{name}.lua"
    if not pods_path:
        raise CommandError("no pods given: resolver plugin test (NAME | --image FILE) PODS")
    started = time.perf_counter()
    plugin = _load_plugin(name, source, chunkname)
    load_seconds = time.perf_counter() - started
    podset = _load_pods(pods_path)
    rows, latencies, errors = [], [], 0
    counts: dict[str, int] = {}
    for pod in sorted(podset.pods, key=lambda p: p.sort_key):
        result = plugin.call(to_lua_string(pod.meta_json))
        latencies.append(result.seconds)
        counts[result.status] = counts.get(result.status, 0) + 1
        errors += result.status == "error"
        if result.status == "error":
            said = f"{result.error.metric_kind}: {result.error}"
        else:
            said = {"claim": f"{result.type} {result.name}", "pass": "not mine"}.get(result.status) \
                or describe_call(result)
        rows.append([pod.namespace, pod.name, result.status.upper(), said])
    sys.stdout.write(table(["NAMESPACE", "POD", "RESULT", "DETAIL"], rows))
    total = sum(latencies)
    outcome = ", ".join(f"{counts[k]} {k}" for k in ("claim", "pass", "unsupported", "error") if k in counts)
    print(f"\n{len(latencies)} pods: {outcome or 'nothing to do'}")
    print(f"load {load_seconds * 1000:.1f} ms; calls {total * 1000:.1f} ms in all", end="")
    if latencies:
        ordered = sorted(latencies)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        print(f", mean {statistics.fmean(latencies) * 1e6:.0f} us, p99 {p99 * 1e6:.0f} us, "
              f"max {ordered[-1] * 1e6:.0f} us ({len(latencies) / total if total else 0:.0f} pods/s)")
    else:
        print()
    return 1 if errors else 0


# -- resolve ----------------------------------------------------------------

def _loaded_plugins(args):
    """The store's plugins, loaded and checked; and how many failed to load."""
    from .loader import PluginSet
    from .plugin_guard import CheckedPlugin
    store = _open_store(args)

    def report(event, name, message):
        if event == "plugin_load_failed":
            print(f"{PROG}: plugin {name} skipped: {message}", file=sys.stderr)

    plugin_set = PluginSet(on_event=report)
    plugin_set.sync(store.chain_order())
    return [CheckedPlugin(plugin) for plugin in plugin_set.plugins], sum(plugin_set.load_failures.values())


def cmd_resolve(args) -> int:
    from .chain import resolve_podset
    from .service import result_to_dict, summary_to_dict
    if args.watch:
        return _resolve_watch(args)
    plugins, load_failures = _loaded_plugins(args)
    reading = _ReadProgress("read")
    try:
        podset = _load_pods(args.pods, progress=reading)
    finally:
        reading.done()
    progress = _Progress(len(podset.pods), "pods")
    results, summary = resolve_podset(
        podset, plugins, explain=args.explain, on_event=_ErrorPrinter(), progress=progress,
        on_disabled=lambda exc: print(f"{PROG}: {exc}", file=sys.stderr))
    failed = bool(load_failures or summary.plugin_errors or summary.disabled)
    status = EXIT_PLUGIN_ERRORS if failed and not args.allow_plugin_errors else 0
    if args.output in ("json", "yaml"):
        payload = {"results": [result_to_dict(r) for r in results], "summary": summary_to_dict(summary)}
        sys.stdout.write(to_json(payload) if args.output == "json" else to_yaml(payload))
        return status
    wide = args.output == "wide"
    headers = ["NAMESPACE", "POD", "TYPE", "NAME", "SOURCE"] + (["UID", "OWNER"] if wide else [])
    rows = []
    for result in results:
        outcome = result.outcome
        if result.resolved:
            row = [result.pod.namespace, result.pod.name, outcome.type, outcome.name, outcome.source]
        else:
            row = [result.pod.namespace, result.pod.name, "-", "-", f"unresolved: {outcome.reason}"]
        if wide:
            from .pods import controller_owner
            owner = controller_owner(result.pod.metadata.get("ownerReferences")) or {}
            row += [result.pod.uid or "-", f"{owner.get('kind', '')}/{owner.get('name', '')}" if owner else "-"]
        rows.append(row)
    sys.stdout.write(table(headers, rows))
    if args.explain:
        sys.stdout.write("\nEXPLAIN\n")
        for result in results:
            print(f"{result.pod.namespace}/{result.pod.name}")
            width = max(len(step.step) for step in result.trail)
            for step in result.trail:
                print(f"  {step.step.ljust(width)}   {step.said}")
    sys.stdout.write(_summary_text(summary, len(results), podset.skipped))
    return status


def _resolve_watch(args) -> int:
    """``resolve --watch``: a line per pod change, as each change is read;
    and when the store's plugins change meanwhile, a line per pod whose
    answer that changes (see ``streamwatch``)."""
    from .pods import PodInputError, read_changes
    from .service import result_to_dict
    from .streamwatch import StreamWatch
    if args.output not in ("table", "json"):
        raise CommandError("--watch prints a line per change: -o table (the default) or -o json")
    if args.pods != "-" and os.path.isdir(args.pods):
        raise CommandError(f"{args.pods}: --watch reads one stream (a file, or - for stdin), not a directory")
    store = _open_store(args)
    try:
        stream = sys.stdin.buffer if args.pods == "-" else open(args.pods, "rb")
    except OSError as exc:
        raise CommandError(f"{args.pods}: {exc.strerror}") from None

    def report(event, name, message):
        if event == "plugin_load_failed":
            print(f"{PROG}: plugin {name} skipped: {message}", file=sys.stderr)

    watch = StreamWatch(store, read_changes(stream, "<stdin>" if args.pods == "-" else args.pods),
                        explain=args.explain, on_event=_ErrorPrinter(), on_load_event=report)
    try:
        for lines in watch.updates():
            sys.stdout.write("".join(
                _watch_line(args.output, result_to_dict(line.result) if line.result is not None else
                            {"namespace": line.pod.namespace, "pod": line.pod.name, "uid": line.pod.uid,
                             "deleted": True})
                for line in lines))
            sys.stdout.flush()  # a line per change, as it happens
    except PodInputError as exc:
        raise CommandError(str(exc)) from None
    finally:
        watch.close()
        if stream is not sys.stdin.buffer:
            stream.close()
    return 0


def _watch_line(output: str, answer: dict) -> str:
    if output == "json":
        return json.dumps(answer, ensure_ascii=False) + "\n"
    who = f"{answer['namespace']}/{answer['pod']}"
    if answer.get("deleted"):
        return f"{who}\tdeleted\n"
    if "type" in answer:
        return f"{who}\t{answer['type']}\t{answer['name']}\t{answer['source']}\n"
    return f"{who}\t-\t-\tunresolved: {answer['unresolved']}\n"


def _summary_text(summary, pods: int, skipped: dict) -> str:
    lines = [f"\nSUMMARY: {pods} pods"]
    rows = [[source, str(count)] for source, count in sorted(summary.by_source.items())]
    rows += [[f"unresolved: {reason}", str(count)] for reason, count in sorted(summary.by_reason.items())]
    rows += [[f"plugin errors: {name}", str(count)] for name, count in sorted(summary.plugin_errors.items())]
    rows += [[f"unsupported types from: {name}", str(count)] for name, count in sorted(summary.unsupported.items())]
    rows += [[f"skipped objects: {kind}", str(count)] for kind, count in sorted(skipped.items())]
    rows += [[f"disabled (out of budget): {name}", "-"] for name in summary.disabled]
    if rows:
        width = max(len(r[0]) for r in rows)
        lines += [f"  {label.ljust(width)}   {count.rjust(6)}" for label, count in rows]
    return "\n".join(lines) + "\n"


# -- serve ------------------------------------------------------------------

def cmd_serve(args) -> int:
    from .eventlog import EventLog
    from .service import serve
    token = _token(args)
    store = _open_store(args, create=True)
    if args.pods is not None and not os.path.exists(args.pods):
        raise CommandError(f"{args.pods}: no such file or directory")
    if args.pods is not None and args.kubernetes:
        raise CommandError("--pods and --kubernetes are two pod sources: give one")
    if (args.kubeconfig or args.context) and not args.kubernetes:
        raise CommandError("--kubeconfig and --context go with --kubernetes")
    kubernetes = None
    if args.kubernetes:
        try:
            from .kube import api_client
            kubernetes = {"api": api_client(args.kubeconfig, args.context)}
        except ImportError:
            raise CommandError("--kubernetes needs the kubernetes client: pip install 'luapy[kube]'") from None
        except Exception as exc:  # noqa: BLE001 (the client's config errors have no common base)
            raise CommandError(f"--kubernetes: cannot load the cluster configuration: {exc}") from None
    log = EventLog(format=args.log_format, level=args.log_level)
    if args.token:
        log("token_on_command_line", level="warning",
            msg="--token is visible to every user in ps; prefer --token-file or $RESOLVER_TOKEN")
    try:
        return serve(store, listen=args.listen, pods_path=args.pods, token=token, threads=args.threads,
                     isolation=args.isolation, log=log, allowed_hosts=tuple(args.allowed_host),
                     stale_after=args.stale_after, max_request_bytes=args.max_request_bytes,
                     kubernetes=kubernetes, plugin_processes=args.plugin_processes)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"cannot listen on {args.listen}: {exc.strerror or exc}") from None


# -- argument parsing -------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    store_help = "the plugin store (default: $RESOLVER_STORE, else $XDG_STATE_HOME/luapy-resolver/plugins.db)"
    top = _Parser(add_help=False)
    top.add_argument("--store", metavar="PATH", help=store_help)
    # Subcommands accept --store too; SUPPRESS keeps a top-level value from
    # being overwritten by the subcommand's default.
    common = _Parser(add_help=False)
    common.add_argument("--store", metavar="PATH", default=argparse.SUPPRESS, help=store_help)
    remote = _Parser(add_help=False)
    remote.add_argument("--server", metavar="URL", help="work through a running 'resolver serve'")
    remote.add_argument("--token", help="bearer token for --server (visible in ps: prefer --token-file "
                                        "or $RESOLVER_TOKEN)")
    remote.add_argument("--token-file", metavar="PATH", help="read the bearer token for --server from PATH")
    formats = ["table", "json", "yaml"]
    from . import __version__
    from luapy import __version__ as luapy_version
    from .service import DEFAULT_MAX_REQUEST_BYTES, DEFAULT_STALE_AFTER

    parser = _Parser(prog=PROG, description="Resolve Kubernetes pods to workloads, with Lua plugins "
                                            "(DeepFlow-compatible).", parents=[top])
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__} (luapy {luapy_version})")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    plugin = commands.add_parser("plugin", help="manage plugins", parents=[common])
    plugin_commands = plugin.add_subparsers(dest="plugin_command", metavar="ACTION", parser_class=_Parser)
    plugin_commands.required = True

    create = plugin_commands.add_parser("create", help="validate and store a plugin", parents=[common, remote])
    create.add_argument("--type", required=True, help="plugin type: lua (wasm and so are refused)")
    create.add_argument("--image", required=True, metavar="FILE", help="the plugin's Lua source file")
    create.add_argument("--name", required=True)
    create.add_argument("--user", default="server", choices=["server", "agent"])
    create.add_argument("--priority", type=_priority, default=None,
                        help="lower runs first (default: 0 for a new plugin, else unchanged)")
    create.add_argument("--replace", action="store_true",
                        help="accepted for compatibility: creating an existing name always stores a new version")
    create.add_argument("--keep-versions", type=_positive, metavar="N",
                        help="versions kept per plugin; older ones are pruned (default 20)")
    create.set_defaults(run=cmd_plugin_create)

    listing = plugin_commands.add_parser("list", help="list plugins, newest first", parents=[common, remote])
    listing.add_argument("-o", "--output", choices=formats + ["wide"], default="table",
                         help="wide adds the version count, source size and sha256")
    listing.set_defaults(run=cmd_plugin_list)

    delete = plugin_commands.add_parser("delete", help="delete a plugin (its history is kept)",
                                        parents=[common, remote])
    delete.add_argument("name")
    delete.set_defaults(run=cmd_plugin_delete)

    show = plugin_commands.add_parser("show", help="print a plugin's source", parents=[common, remote])
    show.add_argument("name")
    show.set_defaults(run=cmd_plugin_show)

    history = plugin_commands.add_parser("history", help="list a plugin's versions", parents=[common, remote])
    history.add_argument("name")
    history.add_argument("-o", "--output", choices=formats, default="table")
    history.set_defaults(run=cmd_plugin_history)

    rollback = plugin_commands.add_parser("rollback", help="make an earlier version current again",
                                          parents=[common, remote])
    rollback.add_argument("name")
    rollback.add_argument("version", nargs="?", type=int)
    rollback.set_defaults(run=cmd_plugin_rollback)

    test = plugin_commands.add_parser("test", help="dry-run one plugin on pods (nothing is stored)",
                                      parents=[common, remote])
    test.add_argument("name_or_pods", nargs="?", metavar="NAME")
    test.add_argument("pods", nargs="?", metavar="PODS")
    test.add_argument("--image", metavar="FILE", help="test this file instead of a stored plugin")
    test.set_defaults(run=cmd_plugin_test)

    resolve = commands.add_parser("resolve", help="resolve pods to workloads", parents=[common])
    resolve.add_argument("pods", nargs="?", default="-", metavar="PODS",
                         help="PodList/List/Pod/NDJSON in JSON or YAML, a directory, or - for stdin")
    resolve.add_argument("-o", "--output", choices=formats + ["wide"], default="table")
    resolve.add_argument("--explain", action="store_true", help="show what every rule and plugin said")
    resolve.add_argument("--watch", action="store_true",
                         help="read a stream of changes (kubectl get pods -A -w -o json, or NDJSON) and print "
                              "a line per pod change as it arrives; when the store's plugins change "
                              "meanwhile, a line per pod whose answer that changes")
    resolve.add_argument("--allow-plugin-errors", action="store_true",
                         help=f"exit 0 even when a plugin failed (otherwise exit {EXIT_PLUGIN_ERRORS})")
    resolve.set_defaults(run=cmd_resolve)

    serve = commands.add_parser("serve", help="run the resolver service", parents=[common])
    serve.add_argument("--pods", metavar="FILE|DIR", help="the pod source, re-read when it changes")
    serve.add_argument("--kubernetes", action="store_true",
                       help="watch the cluster's pods and ReplicaSets (in-cluster config unless "
                            "--kubeconfig or --context is given)")
    serve.add_argument("--kubeconfig", metavar="PATH", help="with --kubernetes: the kubeconfig file")
    serve.add_argument("--context", metavar="NAME", help="with --kubernetes: the kubeconfig context")
    serve.add_argument("--listen", default="127.0.0.1:8080", metavar="HOST:PORT")
    serve.add_argument("--token", help="bearer token required by mutating routes (visible in ps: prefer "
                                       "--token-file or $RESOLVER_TOKEN)")
    serve.add_argument("--token-file", metavar="PATH", help="read the bearer token from PATH")
    serve.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                       help="another name clients use in Host to reach the service (repeatable)")
    serve.add_argument("--stale-after", type=float, default=DEFAULT_STALE_AFTER, metavar="SECONDS",
                       help="/readyz fails once the pod source has been unreadable this long "
                            f"(default {DEFAULT_STALE_AFTER:g})")
    serve.add_argument("--max-request-bytes", type=_positive, default=DEFAULT_MAX_REQUEST_BYTES, metavar="N",
                       help=f"largest POST /v1/resolve body (default {DEFAULT_MAX_REQUEST_BYTES}, 16 MiB)")
    serve.add_argument("--keep-versions", type=_positive, metavar="N",
                       help="versions kept per plugin for uploads through the API (default 20)")
    serve.add_argument("--log-format", choices=["logfmt", "json"], default="logfmt")
    serve.add_argument("--log-level", choices=["debug", "info", "warning", "error"], default="info",
                       help="info logs every request but probes; debug adds probes and scrapes")
    serve.add_argument("--isolation", choices=["in-process", "process"], default=_default_isolation(),
                       help="run each plugin in its own worker process with OS limits (RLIMIT_AS, "
                            "RLIMIT_CPU; the default where the platform has them) or in the service "
                            "process")
    serve.add_argument("--plugin-processes", type=_positive, default=None, metavar="N",
                       help="worker processes per plugin under --isolation process; a pass shares "
                            "its pods among them (default: the CPUs available, at most 4)")
    serve.add_argument("--threads", type=_positive, default=4, help="server threads (default 4)")
    serve.set_defaults(run=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return args.run(args)
    except CommandError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `resolver resolve ... | head`: not an error worth a message.
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except Exception as exc:  # a bug: still no traceback for the user, but say what broke
        print(f"{PROG}: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
