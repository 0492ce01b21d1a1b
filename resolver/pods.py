"""Reading pods: every input shape ``kubectl`` produces, cut to what plugins see.

Accepted inputs (JSON, or YAML when PyYAML is installed):

* a ``PodList`` or ``List`` (``kubectl get pods,replicasets -A -o json``);
  ReplicaSets found alongside the pods are indexed so the owner rules can
  follow a ReplicaSet to its Deployment;
* a single ``Pod`` (or a bare metadata object, for the service's
  ``POST /v1/resolve``);
* NDJSON: one object per line (``kubectl get pods -w -o json`` style);
* a multi-document YAML stream.

Plugins receive the pod's ``metadata`` cut to the fields DeepFlow's agent
keeps and serialised the way Go's ``encoding/json`` does it, so a plugin that
matches on the raw text sees exactly what it would see in DeepFlow.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field

#: The metadata fields DeepFlow's agent keeps for a pod.
KEPT_METADATA_FIELDS = ("uid", "name", "namespace", "ownerReferences",
                        "creationTimestamp", "labels", "annotations")

#: Object kinds that are lists of objects.
_LIST_KINDS = {"List", "PodList", "ReplicaSetList"}


class PodInputError(Exception):
    """The input cannot be read; the message says where and why."""


@dataclass
class Pod:
    """One pod, reduced to what resolution needs."""

    namespace: str
    name: str
    uid: str
    #: The cut metadata, as parsed (for the built-in rules).
    metadata: dict
    #: The cut metadata serialised like Go's encoding/json (for plugins).
    meta_json: str = field(repr=False)
    #: ``meta_json`` as a Lua string (UTF-8 bytes held as latin-1 text).
    lua_meta: str = field(default="", repr=False, compare=False)
    #: The built-in rules' answers, which no plugin change can alter:
    #: (replicasets they were computed with, virtual-kubelet, owner rules).
    builtin_cache: tuple | None = field(default=None, repr=False, compare=False)

    @property
    def sort_key(self) -> tuple:
        return (self.namespace, self.name, self.uid)


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


def make_pod(metadata: dict) -> Pod:
    """A ``Pod`` from a metadata object (already known to be a dict)."""
    cut = cut_metadata(metadata)
    namespace, name = _text(cut.get("namespace")), _text(cut.get("name"))
    try:
        meta_json = go_json(cut)
    except (TypeError, ValueError) as exc:  # YAML can hold what JSON cannot (.nan, !!binary...)
        raise PodInputError(f"pod {namespace}/{name}: metadata is not JSON-compatible: {exc}") from None
    lua_meta = meta_json if meta_json.isascii() else meta_json.encode("utf-8").decode("latin-1")
    return Pod(namespace=namespace, name=name, uid=_text(cut.get("uid")), metadata=cut,
               meta_json=meta_json, lua_meta=lua_meta)


def _text(value) -> str:
    return value if isinstance(value, str) else ""


# -- reading ----------------------------------------------------------------

def read_source(path: str) -> tuple[str, str]:
    """The text of ``path`` (``-`` is stdin) and the name to report it by."""
    if path == "-":
        data = sys.stdin.buffer.read()
        label = "<stdin>"
    else:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise PodInputError(f"{path}: {exc.strerror or exc}") from None
        label = path
    try:
        return data.decode("utf-8-sig"), label
    except UnicodeDecodeError as exc:
        raise PodInputError(f"{label}: not UTF-8 text (byte {exc.start})") from None


def load_pods(path: str) -> PodSet:
    """Read pods from a file, ``-`` for stdin, or every file of a directory."""
    if path != "-" and os.path.isdir(path):
        documents = []
        for entry in sorted(os.listdir(path)):
            if entry.startswith(".") or not entry.endswith((".json", ".yaml", ".yml", ".ndjson")):
                continue
            text, label = read_source(os.path.join(path, entry))
            documents.extend(parse_documents(text, label))
        return collect(documents)
    text, label = read_source(path)
    return collect(parse_documents(text, label))


def parse_documents(text: str, label: str = "<input>") -> list:
    """Parse JSON, NDJSON or YAML text into a list of top-level documents."""
    stripped = text.lstrip()
    if not stripped:
        return []
    if stripped[0] in "{[":
        try:
            return [json.loads(text, parse_constant=_reject_constant)]
        except _NotJSON as exc:
            raise PodInputError(f"{label}: invalid JSON: {exc}") from None
        except RecursionError:
            raise PodInputError(f"{label}: invalid input: JSON nests too deeply") from None
        except json.JSONDecodeError as exc:
            if exc.msg != "Extra data":
                raise PodInputError(f"{label}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
        return _parse_ndjson(text, label)
    return _parse_yaml(text, label)


class _NotJSON(ValueError):
    pass


def _reject_constant(name: str):
    # Python's json accepts NaN and Infinity; JSON (and Go) do not.
    raise _NotJSON(f"{name} is not valid JSON")


def _parse_ndjson(text: str, label: str) -> list:
    documents = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            documents.append(json.loads(line, parse_constant=_reject_constant))
        except _NotJSON as exc:
            raise PodInputError(f"{label}:{lineno}: invalid JSON: {exc}") from None
        except RecursionError:
            raise PodInputError(f"{label}:{lineno}: invalid input: JSON nests too deeply") from None
        except json.JSONDecodeError as exc:
            raise PodInputError(f"{label}:{lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    return documents


def _parse_yaml(text: str, label: str) -> list:
    try:
        import yaml
    except ImportError:
        raise PodInputError(
            f"{label}: this is not JSON; reading YAML needs PyYAML "
            "(pip install 'luapy-sandbox[yaml]')") from None
    try:
        return [doc for doc in yaml.load_all(text, Loader=_yaml_loader(yaml)) if doc is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{label}:{mark.line + 1}:{mark.column + 1}" if mark else label
        problem = getattr(exc, "problem", None) or str(exc)
        raise PodInputError(f"{where}: invalid YAML: {problem}") from None
    except RecursionError:
        raise PodInputError(f"{label}: invalid input: YAML nests too deeply") from None


_LOADER_CACHE: dict = {}


def _yaml_loader(yaml):
    """A safe loader that keeps timestamps as text.

    ``kubectl`` writes ``creationTimestamp`` as a string; PyYAML would turn an
    unquoted one into a ``datetime``, which plugins would then see re-printed
    differently.
    """
    loader = _LOADER_CACHE.get("loader")
    if loader is None:
        class TextTimestampLoader(yaml.SafeLoader):
            pass
        TextTimestampLoader.yaml_implicit_resolvers = {
            first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
            for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
        }
        loader = _LOADER_CACHE["loader"] = TextTimestampLoader
    return loader


def collect(documents: list) -> PodSet:
    """Sort parsed documents into pods, the ReplicaSet index, and skipped kinds."""
    pods: list[Pod] = []
    replicasets: dict[tuple[str, str], dict | None] = {}
    skipped: dict[str, int] = {}

    def visit(obj, default_kind: str | None) -> None:
        if isinstance(obj, list):
            for item in obj:
                visit(item, default_kind)
            return
        if not isinstance(obj, dict):
            skipped["(not an object)"] = skipped.get("(not an object)", 0) + 1
            return
        kind = obj.get("kind")
        if kind in _LIST_KINDS or (kind is None and isinstance(obj.get("items"), list)):
            item_kind = {"PodList": "Pod", "ReplicaSetList": "ReplicaSet"}.get(kind)
            visit(obj.get("items") or [], item_kind)
            return
        kind = kind or default_kind
        metadata = obj.get("metadata")
        if kind is None and not isinstance(metadata, dict) and "name" in obj:
            # A bare metadata object (what plugins receive).
            kind, metadata = "Pod", obj
        if kind is None and isinstance(metadata, dict):
            kind = "Pod"  # raw API PodList items carry no kind
        if not isinstance(metadata, dict):
            skipped[str(kind or "(no metadata)")] = skipped.get(str(kind or "(no metadata)"), 0) + 1
            return
        if kind == "Pod":
            pods.append(make_pod(metadata))
        elif kind == "ReplicaSet":
            key = (_text(metadata.get("namespace")), _text(metadata.get("name")))
            replicasets[key] = controller_owner(metadata.get("ownerReferences"))
        else:
            skipped[str(kind)] = skipped.get(str(kind), 0) + 1

    for document in documents:
        visit(document, None)
    return PodSet(pods, replicasets, skipped)


def controller_owner(owner_references) -> dict | None:
    """The controlling owner reference (``controller: true``), else the first."""
    if not isinstance(owner_references, list):
        return None
    owners = [ref for ref in owner_references if isinstance(ref, dict)]
    for ref in owners:
        if ref.get("controller") is True:
            return ref
    return owners[0] if owners else None
