"""resolver: DeepFlow-compatible Kubernetes workload resolution with Lua plugins.

Pods are resolved by a chain: DeepFlow's virtual-kubelet rule, then the
stored Lua plugins (each in its own luapy sandbox), then the built-in owner
rules.  See ``resolver.cli`` for the command line and ``resolver.service``
for the live service.
"""

__version__ = "0.1.0"
