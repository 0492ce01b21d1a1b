"""The plugin playground (a static page running luapy on Pyodide) and the
Pyodide tooling its build, tests and benchmark share."""
