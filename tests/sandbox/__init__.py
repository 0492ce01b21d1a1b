"""The sandbox's tests: every budget class, the hostile suites, red-team rounds."""

import sys

#: Defines ``peak_rss_kib()`` for a child script.  Not ``ru_maxrss``: Linux
#: carries it across exec, so a child forked from a big test worker would
#: start at that worker's peak.  ``VmHWM`` belongs to the new program.
PEAK_RSS = """
def peak_rss_kib():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
"""


def child_command(script: str) -> list:
    """``python -c script``, with ``peak_rss_kib()`` defined for it."""
    return [sys.executable, "-c", PEAK_RSS + script]
