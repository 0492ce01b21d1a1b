"""Imported once by the fork server that starts plugin workers (``workers``).

Loading a first plugin warms what every plugin needs: the parse table, the
compiled standard library.  Done here, in the fork server, every worker is
forked already warm, and starting one costs a fork and its own plugin's
load rather than a new interpreter and all of that again.
"""

from .plugins import LuaPlugin

LuaPlugin("warm-up", b"function GetWorkloadTypeAndName(m) return '', '' end").close()
