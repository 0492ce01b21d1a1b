// Runs a Python script in Pyodide under Node.js, with the luapy bundle on sys.path.
//   node run_node.mjs PYODIDE_PACKAGE_DIR BUNDLE.zip SCRIPT.py
// The script's stdout goes to ours; the last line it prints is its report.
// Start-up time goes to stderr as "pyodide-load-ms N".
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [packageDir, bundlePath, scriptPath] = process.argv.slice(2);
const started = performance.now();
const { loadPyodide } = await import(pathToFileURL(`${packageDir}/pyodide.mjs`).href);
const pyodide = await loadPyodide({
  indexURL: `${packageDir}/`,
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
});
pyodide.unpackArchive(new Uint8Array(readFileSync(bundlePath)), "zip", { extractDir: "/home/pyodide/luapy" });
pyodide.runPython("import sys; sys.path.insert(0, '/home/pyodide/luapy')");
process.stderr.write(`pyodide-load-ms ${Math.round(performance.now() - started)}\n`);
try {
  await pyodide.runPythonAsync(readFileSync(scriptPath, "utf8"));
} catch (error) {
  process.stderr.write(String(error.message || error) + "\n");
  process.exit(1);
}
