"""Test-wide settings.

On CI (``CI`` set, as .ci/run runs) hypothesis draws the same examples
every run, so a green main stays green; locally it explores freely.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
