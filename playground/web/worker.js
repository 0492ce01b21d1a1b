// The interpreter's thread: Pyodide, luapy and the resolver core live here,
// so a plugin that loops runs into its budget while the page stays responsive.
import { loadPyodide } from "./pyodide/pyodide.mjs";

const HOME = "/home/pyodide/luapy";
let resolve = null;

async function start(cacheDir) {
  const phases = {};
  let mark = performance.now();
  const lap = (name) => { const now = performance.now(); phases[name] = (now - mark) / 1000; mark = now; };
  const pyodide = await loadPyodide({ indexURL: new URL("./pyodide/", import.meta.url).href });
  const bundle = await fetch(new URL("./luapy-bundle.zip", import.meta.url));
  if (!bundle.ok) throw new Error(`luapy-bundle.zip: HTTP ${bundle.status}`);
  lap("pyodide");
  pyodide.unpackArchive(await bundle.arrayBuffer(), "zip", { extractDir: HOME });
  pyodide.runPython(`
import json, os, sys
sys.path.insert(0, ${JSON.stringify(HOME)})
os.environ["LUAPY_CACHE_DIR"] = ${JSON.stringify(`${HOME}/${cacheDir}`)}
import playground_bridge
`);
  lap("import");
  // Plain JSON across the boundary: no proxies to leak or destroy.
  resolve = pyodide.runPython(
    "lambda source, name, pods: json.dumps(playground_bridge.resolve(source, name, pods))");
  resolve("function GetWorkloadTypeAndName(m) return '', '' end", "warmup", "[]");
  lap("warmup");
  return phases;
}

self.onmessage = async ({ data }) => {
  try {
    if (data.type === "init") {
      self.postMessage({ type: "ready", phases: await start(data.cacheDir) });
    } else if (data.type === "run") {
      const started = performance.now();
      const answer = JSON.parse(resolve(data.source, data.name, data.pods));
      self.postMessage({ type: "result", id: data.id, answer,
                         seconds: (performance.now() - started) / 1000 });
    }
  } catch (error) {
    self.postMessage({ type: "failed", id: data.id, message: String(error && error.message || error) });
  }
};
