"""Reading pod input incrementally: one Kubernetes object at a time.

The input can be far bigger than what should be held in memory (100,000
real pods are a 1.9 GB ``kubectl get pods -A -o json``), so nothing here
parses a whole file at once.  ``read_objects`` yields the top-level values
of the input, except that the ``items`` of a list (``PodList``, ``List``, a
top-level JSON array) are yielded one by one as they are parsed, never
gathered.  Each value comes with the kind its list implies for it and a
way to name its position, for errors.

Accepted:

* JSON: one document, NDJSON, or a stream of concatenated documents
  (``kubectl get pods -A -w -o json``), read in chunks.  Every document is
  parsed by the ``json`` module's C scanner; a list's items each on their own.
* YAML, one document or several (``---``): through libyaml
  (``yaml._yaml.CParser``) when PyYAML was built with it, else PyYAML's pure
  parser.  Either way the list items are composed and constructed one at a
  time, and aliases (``*name``) are refused: kubectl never writes them, and
  they are how a few hundred bytes expand into gigabytes (a "billion laughs"
  alias bomb).

Errors are ``PodInputError`` with ``label:line:column:`` where known.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import BinaryIO, Callable, Iterator, NamedTuple

#: Bytes read from the input at a time.
CHUNK_BYTES = 1 << 20

#: The largest single object (a list item, or a whole non-list document)
#: accepted, in characters.  The API server refuses objects above 1.5 MiB
#: (etcd's limit), so this only stops runaway input.
MAX_OBJECT_CHARS = 32 << 20

#: A JSON syntax error this far before the end of what has been read is a
#: real error; nearer the end it may only be where the text was cut by
#: chunking, so more is read and the parse retried.
_LOOKAHEAD_CHARS = 4 << 20

#: Reports reading progress: (bytes read so far, total bytes or None).
Progress = Callable[[int, "int | None"], None]

#: An object's fields that nothing here reads: YAML input skips them unparsed.
UNREAD_FIELDS = frozenset({"spec", "status"})

#: What a list's kind says about kind-less items.
LIST_ITEM_KINDS = {"PodList": "Pod", "ReplicaSetList": "ReplicaSet"}


def too_large() -> str:
    if MAX_OBJECT_CHARS % (1 << 20) == 0:
        return f"an object larger than {MAX_OBJECT_CHARS >> 20} MiB"
    return f"an object larger than {MAX_OBJECT_CHARS} characters"


class PodInputError(Exception):
    """The pod input cannot be used; ``str()`` is ``label[:line:col]: reason``.

    ``source`` names the input (a path, ``<stdin>``, ``request body``),
    ``line`` and ``column`` (1-based) are set when a position is known, and
    ``reason`` is the message without the position.
    """

    def __init__(self, source: str, reason: str, line: int | None = None, column: int | None = None):
        self.source, self.reason, self.line, self.column = source, reason, line, column
        super().__init__(f"{self.where}: {reason}")

    @property
    def where(self) -> str:
        if self.line is None:
            return self.source
        return f"{self.source}:{self.line}" + (f":{self.column}" if self.column is not None else "")


class Located(NamedTuple):
    """One value read from the input."""

    value: object
    #: The kind the enclosing list implies (``Pod`` in a ``PodList``), or None.
    default_kind: str | None
    #: ``document`` (a top-level value), ``item`` (of a list), or ``list``
    #: (what a list holds besides its items: apiVersion, kind, metadata).
    role: str
    #: The input's name, for messages.
    source: str
    #: Returns ``(line, column)`` of the value's start; valid until the next
    #: value is read (the text around it may be dropped after that).
    position: Callable[[], tuple[int, int]]


# -- bytes in ---------------------------------------------------------------

class ByteSource:
    """A binary stream read in chunks, with a look at the first non-blank byte.

    ``read1`` is used where the stream has it, so a pipe (``kubectl ... -w |``)
    hands over what it has rather than waiting for a whole chunk.
    """

    def __init__(self, stream: BinaryIO, label: str, total: int | None = None,
                 progress: Progress | None = None):
        self.label = label
        self.total = total
        self.progress = progress
        self.done = 0
        self._read = getattr(stream, "read1", None) or stream.read
        self._pending = b""

    def read(self, size: int = 0) -> bytes:
        """Up to ``size`` bytes (a chunk if 0 or negative); ``b""`` at the end."""
        if self._pending:
            data, self._pending = self._pending, b""
            return data
        data = self._read(size if size > 0 else CHUNK_BYTES)
        self.done += len(data)
        if self.progress is not None:
            self.progress(self.done, self.total)
        return data

    def first_byte(self) -> int | None:
        """The first byte that is not whitespace or a BOM (kept for reading), or None if blank."""
        seen = b""
        while True:
            data = self.read()
            if not data:
                self._pending = seen
                return None
            seen += data
            text = seen[3:] if seen.startswith(codecs.BOM_UTF8) else seen
            stripped = text.lstrip(b" \t\r\n")
            if stripped:
                self._pending = seen
                return stripped[0]
            if len(seen) > _LOOKAHEAD_CHARS:  # a sea of blanks: keep only its size
                seen = seen[-3:] if not seen.strip() else seen


def read_objects(source: ByteSource) -> Iterator[Located]:
    """Every top-level value (list items one by one) of a JSON or YAML input."""
    first = source.first_byte()
    if first is None:
        return iter(())
    if first in b"{[":
        return _JSONReader(source).values()
    return _yaml_values(source)


# -- JSON -------------------------------------------------------------------

_WHITESPACE = re.compile(r"[ \t\n\r]*")


class _NotJSON(ValueError):
    pass


def _reject_constant(name: str):
    # Python's json accepts NaN and Infinity; JSON (and Go) do not.
    raise _NotJSON(f"{name} is not valid JSON")


class _JSONReader:
    """JSON values from a byte stream, holding one chunk plus the value being read."""

    def __init__(self, source: ByteSource):
        self.source = source
        self.label = source.label
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.json = json.JSONDecoder(parse_constant=_reject_constant)
        self.buf = ""
        self.pos = 0
        self.eof = False
        #: Read ahead before parsing: for a file, not for a pipe or a
        #: socket, where a value must be handed on as soon as it is whole.
        self.prefetch = source.total is not None
        # A known position in ``buf``: index, line, column (1-based).  Positions
        # are counted forward from it, so every character is counted once.
        self.mark = (0, 1, 1)
        #: The column of ``buf[0]``.
        self.first_column = 1
        #: Where the last value ``_decode`` returned started in ``buf``.
        self.value_start = 0

    # -- the buffer and positions

    def position(self, index: int) -> tuple[int, int]:
        """(line, column) of ``buf[index]``, 1-based."""
        mark_index, line, column = self.mark
        if index < mark_index:  # backwards: rare, an error inside a value just read
            line -= self.buf.count("\n", index, mark_index)
            newline = self.buf.rfind("\n", 0, index)
            return line, (index - newline) if newline != -1 else self.first_column + index
        newlines = self.buf.count("\n", mark_index, index)
        if newlines:
            line += newlines
            column = index - self.buf.rfind("\n", mark_index, index)
        else:
            column += index - mark_index
        self.mark = (index, line, column)
        return line, column

    def _fill(self, at_least: int = 0) -> None:
        """Drop what has been consumed, then read at least one more chunk (more if asked)."""
        if self.pos:
            mark_index, line, column = self.mark
            if mark_index <= self.pos:
                line, column = self.position(self.pos)
                self.mark = (0, line, column)
                self.first_column = column
            else:
                self.first_column = self.position(self.pos)[1]
                self.mark = (mark_index - self.pos, line, column)
            self.buf = self.buf[self.pos:]
            self.pos = 0
        added = 0
        while True:
            data = self.source.read(max(CHUNK_BYTES, at_least - added))
            try:
                text = self.decoder.decode(data, final=not data)
            except UnicodeDecodeError as exc:
                offset = self.source.done - len(data) + exc.start
                raise PodInputError(self.label, f"not UTF-8 text (byte {offset})") from None
            self.buf += text
            added += len(text)
            if not data:
                self.eof = True
                return
            if added >= at_least and text:
                return

    def _error(self, reason: str, index: int) -> PodInputError:
        line, column = self.position(index)
        return PodInputError(self.label, f"invalid JSON: {reason}", line, column)

    def _peek(self) -> str | None:
        """The next non-blank character (skipping the blanks), or None at the end."""
        while True:
            self.pos = _WHITESPACE.match(self.buf, self.pos).end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if self.eof:
                return None
            self._fill()

    def _expect(self, what: str) -> str:
        """The next non-blank character; the end of the input is an error."""
        char = self._peek()
        if char is None:
            raise self._error(f"Expecting {what}", self.pos)
        return char

    def _decode(self):
        """The JSON value at ``pos``, reading more while it runs past the text so far."""
        while True:
            if self.prefetch and not self.eof and len(self.buf) - self.pos < 65536:
                self._fill()  # fewer parses cut short by a chunk's end
            try:
                self.value_start = self.pos
                value, end = self.json.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                # An unterminated string is reported where it starts: however
                # far back that is, the text may only have been cut short.
                cut_short = exc.msg.startswith("Unterminated string")
                if self.eof or (len(self.buf) - exc.pos > _LOOKAHEAD_CHARS and not cut_short):
                    raise self._error(exc.msg, exc.pos) from None
                if len(self.buf) - self.pos > MAX_OBJECT_CHARS:
                    raise PodInputError(self.label, too_large(), *self.position(self.pos)) from None
                self._fill(at_least=len(self.buf) - self.pos)
                continue
            except _NotJSON as exc:
                raise PodInputError(self.label, f"invalid JSON: {exc}") from None
            except RecursionError:
                raise PodInputError(self.label, "invalid input: JSON nests too deeply") from None
            if end - self.pos > MAX_OBJECT_CHARS:
                raise PodInputError(self.label, too_large(), *self.position(self.pos))
            self.pos = end
            return value

    def _lazy_position(self, index: int) -> Callable[[], tuple[int, int]]:
        return lambda: self.position(index)

    # -- structure

    def values(self) -> Iterator[Located]:
        while True:
            char = self._peek()
            if char is None:
                return
            if char == "{":
                yield from self._object()
            elif char == "[":
                where = self.position(self.pos)
                self.pos += 1
                yield from self._items(None)
                yield Located([], None, "list", self.label, lambda: where)
            else:
                value = self._decode()
                yield Located(value, None, "document", self.label, self._lazy_position(self.value_start))

    def _object(self) -> Iterator[Located]:
        """A top-level object, member by member, so that its ``items`` can be streamed."""
        where = self.position(self.pos)  # now: the text may be dropped while members are read
        self.pos += 1
        head: dict = {}
        streamed = False
        char = self._expect("property name enclosed in double quotes")
        if char == "}":
            self.pos += 1
        else:
            while True:
                if char != '"':
                    raise self._error("Expecting property name enclosed in double quotes", self.pos)
                key = self._decode()
                if self._expect("':' delimiter") != ":":
                    raise self._error("Expecting ':' delimiter", self.pos)
                self.pos += 1
                if key == "items" and self._expect("value") == "[":
                    self.pos += 1
                    kind = head.get("kind")
                    yield from self._items(LIST_ITEM_KINDS.get(kind) if isinstance(kind, str) else None)
                    streamed = True
                else:
                    self._expect("value")
                    head[key] = self._decode()
                if self._closes("}"):
                    break
                char = self._expect("property name enclosed in double quotes")
        yield Located(head, None, "list" if streamed else "document", self.label, lambda: where)

    def _items(self, default_kind: str | None) -> Iterator[Located]:
        """The elements of an array whose ``[`` has been consumed."""
        if self._expect("value") == "]":
            self.pos += 1
            return
        while True:
            value = self._decode()
            yield Located(value, default_kind, "item", self.label, self._lazy_position(self.value_start))
            if self._closes("]"):
                return
            self._expect("value")

    def _closes(self, closing: str) -> bool:
        """Consume the ``,`` after a member or element, or the ``closing`` bracket (True)."""
        char = self._expect("',' delimiter")
        if char != "," and char != closing:
            raise self._error("Expecting ',' delimiter", self.pos)
        self.pos += 1
        return char == closing


# -- YAML -------------------------------------------------------------------

#: Use libyaml when PyYAML has it (tests turn this off to exercise the pure parser).
USE_LIBYAML = True

_LOADER_CACHE: dict = {}


def yaml_loader_class():
    """The YAML loader: libyaml's parser when available, PyYAML's own otherwise.

    The composer on top is PyYAML's, changed to refuse aliases and to bound
    each object's size, and driven one list item at a time
    (``construct_one``).  Timestamps stay text: kubectl writes
    ``creationTimestamp`` as a string, and PyYAML would turn an unquoted one
    into a ``datetime`` that plugins would then see re-printed differently.
    """
    import yaml
    libyaml = USE_LIBYAML and getattr(yaml, "__with_libyaml__", False)
    loader = _LOADER_CACHE.get(libyaml)
    if loader is not None:
        return loader
    from yaml.composer import Composer, ComposerError
    from yaml.constructor import SafeConstructor
    from yaml.events import (AliasEvent, CollectionEndEvent, CollectionStartEvent, MappingEndEvent,
                             MappingStartEvent)
    from yaml.nodes import MappingNode, ScalarNode
    from yaml.resolver import Resolver

    if libyaml:
        from yaml._yaml import CParser as parser_class
    else:
        from yaml.parser import Parser
        from yaml.reader import Reader
        from yaml.scanner import Scanner

        class parser_class(Reader, Scanner, Parser):  # noqa: N801 (stands in for CParser)
            def __init__(self, stream):
                Reader.__init__(self, stream)
                Scanner.__init__(self)
                Parser.__init__(self)

    class PodYAMLLoader(parser_class, Composer, SafeConstructor, Resolver):
        def __init__(self, stream):
            parser_class.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            self.object_chars = 0

        def compose_node(self, parent, index):
            if self.check_event(AliasEvent):
                event = self.get_event()
                raise ComposerError(None, None, f"aliases are not accepted (found *{event.anchor})",
                                    event.start_mark)
            return super().compose_node(parent, index)

        def compose_scalar_node(self, anchor):
            node = super().compose_scalar_node(anchor)
            self.object_chars += len(node.value) + 1
            if self.object_chars > MAX_OBJECT_CHARS:
                raise ComposerError(None, None, too_large(), node.start_mark)
            return node

        def construct_one(self):
            """Compose and construct the next node as a value of its own."""
            self.anchors = {}
            self.object_chars = 0
            return self.construct_document(self.compose_node(None, None))

        def construct_object_item(self):
            """``construct_one`` for a list item, leaving out an object's bulk.

            A mapping's ``spec`` and ``status`` are skipped event by event,
            never composed or constructed: they are most of a pod, and
            nothing reads them.
            """
            if not self.check_event(MappingStartEvent) or self.peek_event().anchor is not None:
                return self.construct_one()
            self.anchors = {}
            self.object_chars = 0
            start = self.get_event()
            tag = start.tag
            if tag is None or tag == "!":
                tag = self.resolve(MappingNode, None, start.implicit)
            node = MappingNode(tag, [], start.start_mark, None, flow_style=start.flow_style)
            while not self.check_event(MappingEndEvent):
                key = self.compose_node(node, None)
                if isinstance(key, ScalarNode) and key.value in UNREAD_FIELDS:
                    self.skip_node()
                else:
                    node.value.append((key, self.compose_node(node, key)))
            node.end_mark = self.get_event().end_mark
            return self.construct_document(node)

        def skip_node(self):
            depth = 0
            while True:
                event = self.get_event()
                if isinstance(event, CollectionStartEvent):
                    depth += 1
                elif isinstance(event, CollectionEndEvent):
                    depth -= 1
                elif isinstance(event, AliasEvent):
                    raise ComposerError(None, None, f"aliases are not accepted (found *{event.anchor})",
                                        event.start_mark)
                if depth == 0:
                    return

    PodYAMLLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    PodYAMLLoader.libyaml = libyaml
    _LOADER_CACHE[libyaml] = PodYAMLLoader
    return PodYAMLLoader


class _ByteReader:
    """What PyYAML's parsers read from: ``read(size)`` on a ``ByteSource``."""

    def __init__(self, source: ByteSource):
        self.source = source

    def read(self, size: int = -1) -> bytes:
        return self.source.read(size)


def _yaml_values(source: ByteSource) -> Iterator[Located]:
    label = source.label
    try:
        import yaml
    except ImportError:
        raise PodInputError(label, "this is not JSON; reading YAML needs PyYAML "
                                   "(pip install 'luapy-sandbox[yaml]')") from None
    try:
        loader = yaml_loader_class()(_ByteReader(source))
        try:
            yield from _yaml_documents(loader, yaml.events, label)
        finally:
            dispose = getattr(loader, "dispose", None)
            if dispose is not None:
                dispose()
    except yaml.reader.ReaderError as exc:
        raise PodInputError(label, f"not UTF-8 text (byte {exc.position})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        if mark is None:
            raise PodInputError(label, f"invalid YAML: {problem}") from None
        raise PodInputError(label, f"invalid YAML: {problem}", mark.line + 1, mark.column + 1) from None
    except RecursionError:
        raise PodInputError(label, "invalid input: YAML nests too deeply") from None


def _mark_position(mark) -> Callable[[], tuple[int, int]]:
    return lambda: (mark.line + 1, mark.column + 1)


def _yaml_documents(loader, events, label: str) -> Iterator[Located]:
    loader.get_event()  # StreamStart
    while not loader.check_event(events.StreamEndEvent):
        loader.get_event()  # DocumentStart
        mark = loader.peek_event().start_mark
        if not loader.check_event(events.MappingStartEvent):
            value = loader.construct_one()
            if value is not None:
                yield Located(value, None, "document", label, _mark_position(mark))
        else:
            loader.get_event()
            head: dict = {}
            streamed = False
            while not loader.check_event(events.MappingEndEvent):
                key = loader.construct_one()
                if key == "items" and loader.check_event(events.SequenceStartEvent):
                    loader.get_event()
                    kind = head.get("kind")
                    default_kind = LIST_ITEM_KINDS.get(kind) if isinstance(kind, str) else None
                    while not loader.check_event(events.SequenceEndEvent):
                        item_mark = loader.peek_event().start_mark
                        yield Located(loader.construct_object_item(), default_kind, "item", label,
                                      _mark_position(item_mark))
                    loader.get_event()
                    streamed = True
                elif isinstance(key, str) and key in UNREAD_FIELDS:
                    loader.skip_node()
                else:
                    value = loader.construct_one()
                    if isinstance(key, str):  # other keys are no part of a Kubernetes object
                        head[key] = value
            loader.get_event()
            yield Located(head, None, "list" if streamed else "document", label, _mark_position(mark))
        loader.get_event()  # DocumentEnd
