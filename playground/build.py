"""Build the plugin playground into a folder any static file server can serve.

    python -m playground.build [OUT]        (default build/playground; ``make playground``)

The folder holds the page (``playground/web``), Pyodide's runtime files
vendored from the npm package (nothing is loaded from a CDN), the Python
bundle (luapy, lark, the resolver's core, the bridge, and luapy's parse
table prebuilt so the page need not run Lark's analysis), the sample pods
and plugins, and the Lua 5.1 vs 5.4 hints taken from ``docs/resolver.md``
so the page and the docs say the same thing.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

from . import pyodide_env

REPO = pyodide_env.REPO
WEB = Path(__file__).resolve().parent / "web"
DEFAULT_OUT = REPO / "build" / "playground"
#: Where the bundle's prebuilt parse table lives inside Pyodide's file system.
CACHE_IN_BUNDLE = "luapy-cache"
SEED_PLUGIN = "opengauss"


def _inline(text: str) -> str:
    """``code`` and **bold** of one line of Markdown, as HTML."""
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text, quote=False))
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)


def markdown_fragment(markdown: str) -> str:
    """The little Markdown the hints use (paragraphs, ``- `` lists, code, bold) as HTML."""
    blocks, items, paragraph = [], [], []

    def flush():
        if paragraph:
            blocks.append(f"<p>{_inline(' '.join(paragraph))}</p>")
            paragraph.clear()
        if items:
            blocks.append("<ul>" + "".join(f"<li>{_inline(' '.join(i))}</li>" for i in items) + "</ul>")
            items.clear()

    for line in markdown.splitlines():
        stripped = line.strip()
        if not stripped:
            flush()
        elif stripped.startswith("- "):
            if paragraph:
                flush()
            items.append([stripped[2:]])
        elif items and line.startswith("  "):
            items[-1].append(stripped)
        else:
            if items:
                flush()
            paragraph.append(stripped)
    flush()
    return "\n".join(blocks)


def lua51_hints() -> str:
    """The Lua 5.1 (gopher-lua) to 5.4 section of docs/resolver.md, as HTML."""
    text = (REPO / "docs" / "resolver.md").read_text(encoding="utf-8")
    start = text.index("The Lua 5.1 names DeepFlow plugins use")
    end = text.index("### Sandbox limits for plugins")
    section = text[start:end].replace("### Lua 5.1 (gopher-lua) to 5.4: what a plugin author can hit", "")
    return markdown_fragment(section)


def build(out: Path = DEFAULT_OUT) -> Path:
    package = pyodide_env.ensure_pyodide()
    if out.exists():
        shutil.rmtree(out)
    (out / "pyodide").mkdir(parents=True)
    for name in pyodide_env.PYODIDE_RUNTIME_FILES:
        shutil.copy2(package / name, out / "pyodide" / name)
    with tempfile.TemporaryDirectory() as cache:
        table = pyodide_env.parse_table_cache(Path(cache))
        bundle = pyodide_env.build_bundle({f"{CACHE_IN_BUNDLE}/{table.name}": table})
    (out / "luapy-bundle.zip").write_bytes(bundle)
    samples = out / "samples"
    samples.mkdir()
    shutil.copy2(REPO / "examples" / "pods.json", samples / "pods.json")
    plugins = sorted((REPO / "examples" / "plugins").glob("*.lua"))
    for plugin in plugins:
        shutil.copy2(plugin, samples / plugin.name)
    manifest = {"seed": SEED_PLUGIN, "plugins": [p.stem for p in plugins],
                "pyodide": pyodide_env.PYODIDE_VERSION, "cacheDir": CACHE_IN_BUNDLE}
    (samples / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    for page in sorted(WEB.iterdir()):
        text = page.read_text(encoding="utf-8")
        if page.name == "index.html":
            text = text.replace("<!-- HINTS -->", lua51_hints())
        (out / page.name).write_text(text, encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]).resolve() if args else DEFAULT_OUT
    try:
        build(out)
    except pyodide_env.PyodideUnavailable as exc:
        print(f"playground: cannot vendor Pyodide: {exc}", file=sys.stderr)
        return 1
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"playground: built {out} ({size / 1e6:.1f} MB); serve it with "
          f"python -m http.server -d {out.relative_to(REPO) if out.is_relative_to(REPO) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
