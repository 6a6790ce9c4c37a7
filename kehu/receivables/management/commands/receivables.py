"""``python -m kehu receivables check``: recompute every customer's exposure and every open amount from the ledger
and print each difference; exit 1 when there is any (R-CRD-05)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Receivables: check the maintained exposure against a full recomputation."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["check"])
        parser.add_argument("--customer", type=int, action="append", help="only these customer ids")

    def handle(self, *args: Any, **options: Any) -> None:
        from kehu.receivables.exposure import exposure_check

        diffs = exposure_check(options.get("customer") or None)
        for d in diffs:
            self.stderr.write(str(d))
        if diffs:
            raise CommandError(f"{len(diffs)} difference(s) between maintained exposure and recomputation")
        self.stdout.write("receivables check: OK")
