"""``python -m kehu <command>``: Django's management commands with Kehu's settings.

Kehu's own commands: ``serve`` (production web server), ``audit verify``, ``demo``, ``bench`` and the rest listed
by ``python -m kehu help``.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line([sys.argv[0], *sys.argv[1:]])


if __name__ == "__main__":
    main()
