"""Pods as the resolver holds them: the plugin contract in compact form.

Accepted inputs (JSON, or YAML when PyYAML is installed; see ``podreader``
for how they are read, one object at a time):

* a ``PodList`` or ``List`` (``kubectl get pods,replicasets -A -o json``);
  ReplicaSets found alongside the pods are indexed so the owner rules can
  follow a ReplicaSet to its Deployment;
* a single ``Pod`` (or a bare metadata object, for the service's
  ``POST /v1/resolve``);
* NDJSON, or concatenated JSON documents (``kubectl get pods -A -w -o
  json``), including watch events (``{"type": ..., "object": ...}``, from
  ``--output-watch-events``);
* a multi-document YAML stream.

Plugins receive the pod's ``metadata`` cut to the fields DeepFlow's agent
keeps and serialised the way Go's ``encoding/json`` does it, so a plugin that
matches on the raw text sees exactly what it would see in DeepFlow.

A pod keeps nothing else: not its spec or status, not even the parsed
metadata.  It holds that JSON as UTF-8 bytes (zlib-compressed when long:
``last-applied-configuration`` annotations are kilobytes of JSON), plus the
handful of fields the built-in rules read (``Pod.metadata``).  So 100,000
real pods fit in a few hundred megabytes.
"""

from __future__ import annotations

import io
import json
import os
import sys
import zlib
from dataclasses import dataclass
from typing import Iterable, Iterator, NamedTuple

from .podreader import LIST_ITEM_KINDS, ByteSource, Located, PodInputError, Progress, read_objects
from .rules import RULE_LABELS, controller_owner

__all__ = [
    "KEPT_METADATA_FIELDS", "Change", "Documents", "Pod", "PodInputError", "PodSet", "PodSetBuilder",
    "changes_in", "collect", "controller_owner", "cut_metadata", "go_json", "load_pods", "make_pod",
    "pack_meta", "parse_documents", "pod_key", "pods_from_bytes", "read_changes", "read_pods", "rules_view",
    "unpack_meta",
]

#: The metadata fields DeepFlow's agent keeps for a pod.
KEPT_METADATA_FIELDS = ("uid", "name", "namespace", "ownerReferences",
                        "creationTimestamp", "labels", "annotations")

#: Object kinds that are lists of objects.
_LIST_KINDS = {"List", "PodList", "ReplicaSetList"}

#: Metadata JSON longer than this is held compressed.  Shorter, compression
#: would gain little and cost a few microseconds per pod on every pass.
COMPRESS_ABOVE = 1024

#: The file names read from a directory.
POD_FILE_SUFFIXES = (".json", ".ndjson", ".yaml", ".yml")


def pack_meta(meta_json: str) -> bytes:
    """Metadata JSON as a pod holds it: UTF-8, zlib-compressed when long.

    Plain bytes either way, so a batch of them crosses a worker's pipe as
    it is (``workers``): JSON of an object starts with ``{``, zlib's header
    with ``x`` (0x78), and ``unpack_meta`` tells them apart by that.
    """
    packed = meta_json.encode("utf-8")
    if len(packed) > COMPRESS_ABOVE:
        packed = zlib.compress(packed, 1)
    return packed


def unpack_meta(packed: bytes) -> bytes:
    """The UTF-8 metadata JSON that ``pack_meta`` packed."""
    return zlib.decompress(packed) if packed[:1] == b"x" else packed


class Pod:
    """One pod, reduced to what resolution needs."""

    __slots__ = ("namespace", "name", "uid", "metadata", "_packed", "builtin_cache")

    def __init__(self, namespace: str, name: str, uid: str, metadata: dict, packed: bytes):
        self.namespace = namespace
        self.name = name
        self.uid = uid
        #: The fields the built-in rules read (see ``rules_view``), not the
        #: whole metadata: that is ``full_metadata()``.
        self.metadata = metadata
        self._packed = packed
        #: The built-in rules' answers, which no plugin change can alter:
        #: (replicasets they were computed with, virtual-kubelet, owner rules).
        self.builtin_cache: tuple | None = None

    @property
    def meta_json_bytes(self) -> bytes:
        """The metadata JSON a plugin receives, as UTF-8."""
        return unpack_meta(self._packed)

    @property
    def meta_json(self) -> str:
        """The cut metadata serialised like Go's encoding/json."""
        return self.meta_json_bytes.decode("utf-8")

    @property
    def lua_meta(self) -> str:
        """``meta_json`` as a Lua string (UTF-8 bytes held as latin-1 text)."""
        return self.meta_json_bytes.decode("latin-1")

    @property
    def packed_meta(self) -> bytes:
        """The metadata JSON packed (``pack_meta``): what the chain hands
        plugins, which unpack it where they run (a worker, for one)."""
        return self._packed

    @property
    def fingerprint(self) -> bytes:
        """Equal exactly when two pods give every rule and plugin the same input."""
        return self._packed

    def full_metadata(self) -> dict:
        """The cut metadata, parsed again from the JSON plugins see."""
        return json.loads(self.meta_json_bytes)

    @property
    def sort_key(self) -> tuple:
        return (self.namespace, self.name, self.uid)

    def __repr__(self) -> str:
        return f"Pod(namespace={self.namespace!r}, name={self.name!r}, uid={self.uid!r})"


@dataclass
class PodSet:
    """Pods plus the ReplicaSet owners found alongside them."""

    pods: list[Pod]
    #: (namespace, ReplicaSet name) -> that ReplicaSet's controlling owner
    #: reference (or ``None`` when it has none).
    replicasets: dict[tuple[str, str], dict | None]
    #: Objects of other kinds that were skipped, by kind.
    skipped: dict[str, int]


# -- Go-compatible JSON -----------------------------------------------------

def go_json(value) -> str:
    """Serialise like Go's ``json.Marshal`` of a ``map[string]interface{}``.

    Compact, object keys sorted (Go sorts map keys byte-wise in UTF-8, which
    is code point order), ``<``, ``>``, ``&``, U+2028 and U+2029 escaped (Go's
    HTML-safe default, and the two JavaScript line terminators), every other
    non-ASCII character left as is.  Python's own escapes for control
    characters (``\\n``, ``\\u001f``...) are the ones Go uses.  A lone
    surrogate (from an escaped ``"\\ud800"`` in the input) becomes U+FFFD, as
    Go's decoder would have made it.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                      sort_keys=True, allow_nan=False)
    # str.replace is C-speed; str.translate with a dict is not.
    if "<" in text:
        text = text.replace("<", "\\u003c")
    if ">" in text:
        text = text.replace(">", "\\u003e")
    if "&" in text:
        text = text.replace("&", "\\u0026")
    if not text.isascii():
        text = _replace_surrogates(text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    return text


def _replace_surrogates(text: str) -> str:
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)


def cut_metadata(metadata: dict) -> dict:
    """Keep only the fields DeepFlow passes to plugins; absent stays absent."""
    return {key: metadata[key] for key in KEPT_METADATA_FIELDS if key in metadata}


def rules_view(cut: dict) -> dict:
    """What the built-in rules read of a pod's metadata, and nothing more.

    The namespace, the labels in ``rules.RULE_LABELS``, and the controlling
    owner reference's kind and name.  A field that is absent or of the wrong
    type here is absent or of the wrong type for the rules too.
    """
    view: dict = {}
    namespace = cut.get("namespace")
    if namespace is not None:
        view["namespace"] = sys.intern(namespace) if type(namespace) is str else namespace
    labels = cut.get("labels")
    if isinstance(labels, dict):
        kept = {key: labels[key] for key in RULE_LABELS if key in labels}
        if kept:
            view["labels"] = kept
    owner = controller_owner(cut.get("ownerReferences"))
    if owner is not None:
        kind = owner.get("kind")
        view["ownerReferences"] = [{"kind": sys.intern(kind) if type(kind) is str else kind,
                                    "name": owner.get("name")}]
    return view


def make_pod(metadata: dict) -> Pod:
    """A ``Pod`` from a metadata object (already known to be a dict).

    Metadata that JSON cannot hold is a ``PodInputError`` whose source is
    ``pod NAMESPACE/NAME``.
    """
    cut = cut_metadata(metadata)
    namespace, name = _text(cut.get("namespace")), _text(cut.get("name"))
    try:
        meta_json = go_json(cut)
    except (TypeError, ValueError) as exc:  # YAML can hold what JSON cannot (.nan, !!binary...)
        raise PodInputError(f"pod {namespace}/{name}", f"metadata is not JSON-compatible: {exc}") from None
    return Pod(sys.intern(namespace), name, _text(cut.get("uid")), rules_view(cut), pack_meta(meta_json))


def _text(value) -> str:
    return value if isinstance(value, str) else ""


# -- from objects to a pod set ----------------------------------------------

class Change(NamedTuple):
    """What one object read from the input says."""

    #: ``upsert`` (an object's current state), ``delete`` (a watch event's
    #: ``DELETED``), or ``skip`` (an object of no interest).
    action: str
    #: ``Pod``, ``ReplicaSet``, or the kind that was skipped.
    kind: str
    pod: Pod | None = None
    #: A ReplicaSet's (namespace, name) and its controlling owner reference.
    replicaset: tuple[str, str] | None = None
    owner: dict | None = None


def changes_in(located: Located) -> Iterator[Change]:
    """The changes one value read from the input stands for.

    Lists are opened; watch events (``{"type": ..., "object": ...}``, what
    ``kubectl get -w --output-watch-events`` prints) become upserts and
    deletes; a plain object is an upsert.  A top-level value that is not an
    object is a ``PodInputError``, as is a pod whose metadata JSON cannot
    hold; both name the value's position.
    """
    value = located.value
    if located.role == "list":
        return
    if located.role == "document" and not isinstance(value, (dict, list)):
        what = "text" if isinstance(value, str) else type(value).__name__
        raise PodInputError(located.source, f"not pod data: a plain {what} value, "
                                            "where a JSON or YAML object was expected", *located.position())
    try:
        yield from _object_changes(value, located.default_kind, "upsert")
    except PodInputError as exc:
        if exc.line is not None:
            raise
        raise PodInputError(located.source, str(exc), *located.position()) from None


def _object_changes(obj, default_kind: str | None, action: str) -> Iterator[Change]:
    if isinstance(obj, list):
        for item in obj:
            yield from _object_changes(item, default_kind, action)
        return
    if not isinstance(obj, dict):
        yield Change("skip", "(not an object)")
        return
    kind = obj.get("kind")
    if kind in _LIST_KINDS or (kind is None and isinstance(obj.get("items"), list)):
        yield from _object_changes(obj.get("items") or [], LIST_ITEM_KINDS.get(kind), action)
        return
    event_type = obj.get("type")
    if kind is None and isinstance(event_type, str) and isinstance(obj.get("object"), dict):
        if event_type in ("ADDED", "MODIFIED", "DELETED"):  # not BOOKMARK, ERROR
            yield from _object_changes(obj["object"], None, "delete" if event_type == "DELETED" else "upsert")
        return
    kind = kind or default_kind
    metadata = obj.get("metadata")
    if kind is None and not isinstance(metadata, dict) and "name" in obj:
        # A bare metadata object (what plugins receive).
        kind, metadata = "Pod", obj
    if kind is None and isinstance(metadata, dict):
        kind = "Pod"  # raw API PodList items carry no kind
    if not isinstance(metadata, dict):
        yield Change("skip", str(kind or "(no metadata)"))
    elif kind == "Pod":
        yield Change(action, "Pod", pod=make_pod(metadata))
    elif kind == "ReplicaSet":
        yield Change(action, "ReplicaSet",
                     replicaset=(_text(metadata.get("namespace")), _text(metadata.get("name"))),
                     owner=controller_owner(metadata.get("ownerReferences")))
    else:
        yield Change("skip", str(kind))


class PodSetBuilder:
    """Gathers the changes read from an input into the state they describe.

    A pod read again (same uid, or same namespace and name when it has no
    uid) replaces the earlier reading, and a ``DELETED`` event removes it:
    a stream of changes ends as the state it describes.
    """

    def __init__(self) -> None:
        self._pods: dict = {}
        self.replicasets: dict[tuple[str, str], dict | None] = {}
        self.skipped: dict[str, int] = {}
        #: Top-level documents and objects seen, for "empty" and "no pods".
        self.documents = 0
        self.objects = 0
        self.pod_changes = 0
        #: (source, line, column) of the first object that was not a pod.
        self._first_skipped: tuple | None = None

    def add(self, located: Located) -> None:
        self.documents += located.role != "item"
        for change in changes_in(located):
            self.objects += 1
            if change.action == "skip":
                self.skipped[change.kind] = self.skipped.get(change.kind, 0) + 1
                if self._first_skipped is None:
                    self._first_skipped = (located.source, *located.position())
            elif change.pod is not None:
                self.pod_changes += 1
                if change.action == "upsert":
                    self._pods[pod_key(change.pod)] = change.pod
                else:
                    self._pods.pop(pod_key(change.pod), None)
            elif change.action == "upsert":
                self.replicasets[change.replicaset] = change.owner
            else:
                self.replicasets.pop(change.replicaset, None)

    def add_all(self, values: Iterable[Located]) -> None:
        for located in values:
            self.add(located)

    def finish(self, source: str) -> PodSet:
        """The pod set; an input with nothing usable in it is a ``PodInputError``."""
        if not self.documents:
            raise PodInputError(source, "empty input: no JSON or YAML document")
        if not self.pod_changes and self.objects:
            found = dict(self.skipped)
            if self.replicasets:
                found["ReplicaSet"] = len(self.replicasets)
            listed = ", ".join(f"{kind} {count}" for kind, count in sorted(found.items()))
            source, *position = self._first_skipped or (source,)
            raise PodInputError(source, f"no pods in the input: {self.objects} objects, none of them a Pod "
                                        f"({listed})", *position)
        return PodSet(list(self._pods.values()), self.replicasets, self.skipped)


def pod_key(pod: Pod):
    """What identifies a pod across readings: its uid, else its namespace and name."""
    if pod.uid:
        return pod.uid
    if pod.name:
        return (pod.namespace, pod.name)
    return id(pod)  # nothing names it: it is its own pod


def collect(documents: Iterable, source: str | None = None) -> PodSet:
    """Sort parsed documents (plain values, or ``Located`` ones) into a pod set.

    ``source`` names the input in errors; by default, the name
    ``parse_documents`` was given.
    """
    source = source or getattr(documents, "source", "<input>")
    builder = PodSetBuilder()
    for document in documents:
        if not isinstance(document, Located):
            document = Located(document, None, "document", source, lambda: (1, 1))
        builder.add(document)
    return builder.finish(source)


class Documents(list):
    """``parse_documents``'s values, with the name of the text they came from."""

    def __init__(self, values: Iterable[Located], source: str):
        super().__init__(values)
        self.source = source


# -- reading ----------------------------------------------------------------

def read_pods(stream, source: str, *, total: int | None = None,
              progress: Progress | None = None) -> PodSet:
    """A pod set from a binary stream, read incrementally.

    ``progress(bytes_read, total)`` is called after every chunk read.
    """
    builder = PodSetBuilder()
    builder.add_all(read_objects(ByteSource(stream, source, total, progress)))
    return builder.finish(source)


def read_changes(stream, source: str, *, total: int | None = None,
                 progress: Progress | None = None) -> Iterator[Change]:
    """The changes a binary stream describes, each as soon as its object is read.

    For ``kubectl get pods -A -w -o json`` (with or without
    ``--output-watch-events``) or NDJSON piped in; feed them to a
    ``podindex.PodIndex``.  An empty stream yields nothing.
    """
    for located in read_objects(ByteSource(stream, source, total, progress)):
        yield from changes_in(located)


def pods_from_bytes(data: bytes, source: str = "request body") -> PodSet:
    """A pod set from an in-memory document (a request body)."""
    return read_pods(io.BytesIO(data), source, total=len(data))


def load_pods(path: str, progress: Progress | None = None) -> PodSet:
    """Read pods from a file, ``-`` for stdin, or every pod file of a directory.

    ``progress(bytes_read, total_bytes)`` is called as the input is read
    (``total_bytes`` is None for stdin); a directory counts as one input.
    """
    if path == "-":
        return read_pods(sys.stdin.buffer, "<stdin>", progress=progress)
    if not os.path.isdir(path):
        with _open(path) as handle:
            return read_pods(handle, path, total=_size(handle), progress=progress)
    names = sorted(entry for entry in _listdir(path)
                   if not entry.startswith(".") and entry.endswith(POD_FILE_SUFFIXES))
    if not names:
        raise PodInputError(path, "no pod files in this directory (*" + ", *".join(POD_FILE_SUFFIXES) + ")")
    paths = [os.path.join(path, name) for name in names]
    grand_total = sum(_stat_size(p) for p in paths)
    builder = PodSetBuilder()
    read_before = 0
    for file_path in paths:
        with _open(file_path) as handle:
            file_progress = None if progress is None else _offset_progress(progress, read_before, grand_total)
            documents_before = builder.documents
            source = ByteSource(handle, file_path, _size(handle), file_progress)
            builder.add_all(read_objects(source))
            if builder.documents == documents_before:
                raise PodInputError(file_path, "empty input: no JSON or YAML document")
            read_before += source.done
    return builder.finish(path)


def parse_documents(text: str, label: str = "<input>") -> Documents:
    """Parse JSON, NDJSON or YAML text into its values, for ``collect``.

    Holds every value: for small inputs (tests, and the service's request
    bodies, though ``pods_from_bytes`` also reports bytes that are not
    UTF-8).  Large input goes through ``read_pods``/``load_pods``.
    """
    values = []
    for located in read_objects(ByteSource(io.BytesIO(text.encode("utf-8", "surrogatepass")), label)):
        values.append(located._replace(position=lambda where=located.position(): where))
    return Documents(values, label)


def _offset_progress(progress: Progress, before: int, total: int) -> Progress:
    return lambda done, _total: progress(before + done, total)


def _open(path: str):
    try:
        return open(path, "rb")
    except OSError as exc:
        raise PodInputError(path, exc.strerror or str(exc)) from None


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError as exc:
        raise PodInputError(path, exc.strerror or str(exc)) from None


def _size(handle) -> int | None:
    try:
        return os.fstat(handle.fileno()).st_size
    except (OSError, ValueError):
        return None


def _stat_size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0
