"""``python -m luapy``: the same as the ``luapy`` command."""

import sys

from .cli import main

sys.exit(main())
