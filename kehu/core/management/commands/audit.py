"""``python -m kehu audit verify`` checks the audit trail's hash chain; ``audit tail`` prints the last entries."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from kehu.core import audit
from kehu.core.models import AuditEntry


class Command(BaseCommand):
    help = "Audit trail: 'verify' checks the hash chain (exit 0 intact, 1 broken); 'tail' prints the last entries."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        verify = sub.add_parser(
            "verify", help="check every entry's hash, link and sequence, and the chain head"
        )
        verify.add_argument("--chunk", type=int, default=5000, help="entries read per query")
        tail = sub.add_parser("tail", help="print the last entries")
        tail.add_argument("-n", type=int, default=20, help="number of entries (default 20)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "verify":
            result = audit.verify(chunk=max(1, options["chunk"]))
            if result.ok:
                self.stdout.write(f"OK: audit chain intact, {result.checked} entries checked")
                return
            self.stderr.write(
                f"FAILED: first bad entry #{result.bad_seq} ({result.checked} intact before it): "
                f"{result.problem}"
            )
            sys.exit(1)
        for e in reversed(list(AuditEntry.objects.order_by("-seq")[: max(0, options["n"])])):
            when = timezone.localtime(e.timestamp).strftime("%Y-%m-%d %H:%M:%S")
            who = e.actor_label or "system"
            if e.acting_for_id:
                who += f" (for #{e.acting_for_id})"
            line = (
                f"#{e.seq:<7} {when}  {who:<16} {e.action:<14} {e.object_type}:{e.object_id} {e.object_repr}"
            )
            self.stdout.write(line.rstrip() + (f"  — {e.reason}" if e.reason else ""))
