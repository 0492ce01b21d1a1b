// The page: editor, pods input, results. The interpreter runs in worker.js.
const $ = (id) => document.getElementById(id);
const source = $("plugin-source"), gutter = $("gutter"), pods = $("pods");
const runButton = $("run"), stopButton = $("stop"), statusBox = $("status");

const manifest = await (await fetch("samples/manifest.json")).json();
const fetchText = async (path) => {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.text();
};

// ------------------------------------------------------------------ status

function setStatus(state, text) {
  statusBox.dataset.state = state;
  statusBox.textContent = text;
  const busy = state === "loading" || state === "running";
  runButton.disabled = busy || state === "failed";
  stopButton.disabled = state !== "running";
}

// ------------------------------------------------------------------ worker

let worker = null, nextId = 0, running = null;

function startWorker() {
  setStatus("loading", "Loading Python (WebAssembly)…");
  const started = performance.now();
  worker = new Worker("worker.js", { type: "module" });
  worker.onerror = (event) => setStatus("failed", `The interpreter failed to start: ${event.message || "see the browser console"}`);
  worker.onmessage = ({ data }) => {
    if (data.type === "ready") {
      const seconds = (performance.now() - started) / 1000;
      window.playgroundLoad = { seconds, ...data.phases };
      setStatus("ready", `Ready · loaded in ${seconds.toFixed(1)} s`);
      statusBox.title = Object.entries(data.phases).map(([name, s]) => `${name} ${s.toFixed(2)} s`).join(", ");
    } else if (data.type === "result" && running === data.id) {
      running = null;
      render(data.answer);
      revealResults();
      const count = data.answer.rows.length;
      setStatus("done", `${count} pod${count === 1 ? "" : "s"} resolved in ${data.seconds.toFixed(2)} s`);
    } else if (data.type === "failed") {
      running = null;
      setStatus("failed", `Internal error: ${data.message}`);
    }
  };
  worker.postMessage({ type: "init", cacheDir: manifest.cacheDir });
}

function run() {
  if (runButton.disabled) return;
  running = ++nextId;
  setStatus("running", "Running…");
  worker.postMessage({ type: "run", id: running, source: source.value,
                       name: $("plugin-name").value.trim() || "plugin", pods: pods.value });
}

function stop() {
  // Budgets end every call within a second; this is for the impatient.
  running = null;
  worker.terminate();
  startWorker();
}

// ------------------------------------------------------------------ editor

let errorLines = new Set();

function paintGutter() {
  const count = source.value.split("\n").length;
  let html = "";
  for (let line = 1; line <= count; line++) {
    html += errorLines.has(line) ? `<span class="bad">${line}</span>\n` : `${line}\n`;
  }
  gutter.innerHTML = html;
  gutter.scrollTop = source.scrollTop;
}

source.addEventListener("input", () => { errorLines.clear(); paintGutter(); });
source.addEventListener("scroll", () => { gutter.scrollTop = source.scrollTop; });
source.addEventListener("keydown", (event) => {
  if (event.key === "Tab" && !event.shiftKey) {
    event.preventDefault();
    source.setRangeText("  ", source.selectionStart, source.selectionEnd, "end");
    paintGutter();
  }
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); run(); }
});

function goToLine(line) {
  const lines = source.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((n, text) => n + text.length + 1, 0);
  source.focus();
  source.setSelectionRange(start, start + (lines[line - 1] || "").length);
  source.scrollTop = Math.max(0, (line - 4) * parseFloat(getComputedStyle(source).lineHeight));
}

async function loadExample(name) {
  source.value = await fetchText(`samples/${name}.lua`);
  $("plugin-name").value = name;
  errorLines.clear();
  paintGutter();
}

// ------------------------------------------------------------------ pods

async function loadSamplePods() {
  pods.value = await fetchText("samples/pods.json");
  $("pods-note").textContent = "The bundled sample: pods of many workload kinds, including three OpenGauss pods.";
}

$("pods-file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  pods.value = await file.text();
  $("pods-note").textContent = `From ${file.name} (${(file.size / 1024).toFixed(0)} KiB).`;
});
pods.addEventListener("input", () => { $("pods-note").textContent = ""; });

// ------------------------------------------------------------------ results

const KIND_LABELS = {
  limit_steps: "step budget", limit_time: "time budget", limit_memory: "memory budget",
  limit_depth: "depth budget", runtime: "runtime error", syntax: "syntax error", load: "load error",
  missing: "bad return", type: "bad return", unsupported_type: "unsupported type", internal: "internal error",
};

const el = (tag, attributes = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class") node.className = value; else node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
};

// "name.lua:12: message" -> a link to line 12 of the editor.
function positioned(message) {
  const match = /^([^:\s]+\.lua):(\d+):/.exec(message);
  const code = el("code", { class: "message" }, message);
  if (!match) return code;
  const line = Number(match[2]);
  errorLines.add(line);
  const link = el("a", { href: "#", class: "where", title: `Show line ${line}` }, `${match[1]}:${line}`);
  link.addEventListener("click", (event) => { event.preventDefault(); goToLine(line); });
  code.textContent = message.slice(match[0].length);
  return el("span", { class: "positioned" }, link, code);
}

function problem(kind, title, ...body) {
  return el("div", { class: `problem ${kind}` }, el("strong", {}, title), ...body);
}

function badge(kind) {
  return el("span", { class: `badge ${kind.startsWith("limit_") ? "budget" : "error"}`, "data-kind": kind },
            KIND_LABELS[kind] || kind);
}

function render(answer) {
  const problems = $("problems"), tbody = $("results").tBodies[0], summary = $("summary");
  problems.replaceChildren();
  errorLines = new Set();
  if (answer.input_error) {
    problems.append(problem("bad", "The pods could not be read", el("p", {}, el("code", {}, answer.input_error))));
  }
  if (answer.load_error) {
    const error = answer.load_error;
    problems.append(problem("bad", "The plugin did not load; pods were resolved without it",
                            el("p", {}, badge(error.kind), " ", positioned(error.message))));
  }
  for (const name of answer.disabled) {
    problems.append(problem("warn", `Plugin ${name} was taken out of this pass`,
      el("p", {}, "It ran out of budget on more than 3 pods, so every pod was resolved again without it " +
                  "(in the resolver service it stays out until a new version is stored).")));
  }
  const groups = new Map();
  for (const error of answer.errors) {
    const key = `${error.kind}\n${error.message}`;
    if (!groups.has(key)) groups.set(key, { error, pods: [] });
    groups.get(key).pods.push(`${error.namespace}/${error.pod}`);
  }
  if (groups.size) {
    const list = el("ul", { class: "errors", id: "plugin-errors" });
    for (const { error, pods: where } of groups.values()) {
      const shown = where.slice(0, 3).join(", ") + (where.length > 3 ? `, and ${where.length - 3} more` : "");
      list.append(el("li", { "data-kind": error.kind }, badge(error.kind), " ", positioned(error.message),
                     el("span", { class: "pods" }, `on ${where.length} pod${where.length === 1 ? "" : "s"}: ${shown}`)));
    }
    problems.append(problem("bad", `Plugin errors (${answer.errors.length})`, list));
  }

  const rows = answer.rows.map((row) => {
    const kind = row.source.startsWith("plugin:") ? "plugin" : row.source ? "builtin" : "unresolved";
    const sourceCell = row.source ? el("span", { class: `badge ${kind}` }, row.source)
                                  : el("span", { class: "badge unresolved" }, "unresolved");
    const tr = el("tr", { "data-kind": kind, "data-source": row.source },
      el("td", { class: "namespace", "data-label": "namespace" }, row.namespace),
      el("td", { class: "pod", "data-label": "pod" }, row.pod),
      el("td", { class: "type", "data-label": "type" }, row.type),
      el("td", { class: "name", "data-label": "name" }, row.name),
      el("td", { class: "source", "data-label": "source" }, sourceCell),
      el("td", { class: "reason", "data-label": "reason" }, row.reason));
    if (row.errors.length) { tr.classList.add("had-error"); tr.title = row.errors.join("\n"); }
    return tr;
  });
  tbody.replaceChildren(...(rows.length ? rows
    : [el("tr", { class: "empty" }, el("td", { colspan: 6 }, "No pods in the input."))]));
  applyFilter();

  const count = (kind) => answer.rows.filter((row) => (row.source.startsWith("plugin:") ? "plugin"
    : row.source ? "builtin" : "unresolved") === kind).length;
  summary.replaceChildren(
    el("span", { class: "chip" }, `${answer.rows.length} pods`),
    el("span", { class: "chip plugin" }, `${count("plugin")} by plugin`),
    el("span", { class: "chip builtin" }, `${count("builtin")} built-in`),
    el("span", { class: "chip unresolved" }, `${count("unresolved")} unresolved`),
    ...(answer.errors.length ? [el("span", { class: "chip bad" }, `${answer.errors.length} errors`)] : []));

  const printed = answer.output.join("\n") +
    (answer.dropped_output ? `\n… ${answer.dropped_output} more lines not shown` : "");
  $("console").textContent = printed;
  $("console").dataset.empty = printed ? "no" : "yes";
  paintGutter();
}

// On a short or narrow screen the results are below the fold: bring them up.
function revealResults() {
  const panel = document.querySelector(".results-panel");
  if (panel.getBoundingClientRect().top > window.innerHeight * 0.6) {
    panel.scrollIntoView({ behavior: "smooth", block: "start" });
  }
}

function applyFilter() {
  const needle = $("filter").value.trim().toLowerCase();
  for (const tr of $("results").tBodies[0].rows) {
    tr.hidden = needle !== "" && !tr.textContent.toLowerCase().includes(needle);
  }
}
$("filter").addEventListener("input", applyFilter);

// ------------------------------------------------------------------ start

for (const name of manifest.plugins) {
  $("plugin-example").append(el("option", { value: name }, `${name}.lua`));
}
$("plugin-example").value = manifest.seed;
$("plugin-example").addEventListener("change", (event) => loadExample(event.target.value));
$("sample-pods").addEventListener("click", loadSamplePods);
runButton.addEventListener("click", run);
stopButton.addEventListener("click", stop);
startWorker();
await Promise.all([loadExample(manifest.seed), loadSamplePods()]);
