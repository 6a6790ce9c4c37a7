"""``python -m kehu attachments check``: compare the attachment store with the database.

Reports blobs whose file is missing or whose content does not hash to its name (exit 1), and files in the store
that no blob row names (orphans left by a rolled-back upload: harmless, reported for clean-up).
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kehu.core import attachments


class Command(BaseCommand):
    help = (
        "Attachment store: 'check' lists blobs with a missing or corrupted file and files with no blob row "
        "(exit 0 when consistent, 1 otherwise)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("check", help="verify every blob's file and hash; list orphan files")

    def handle(self, *args: Any, **options: Any) -> None:
        result = attachments.check_store()
        for sha in result.missing:
            self.stderr.write(f"MISSING  {sha}: file {attachments.blob_path(sha)} not found")
        for sha in result.corrupted:
            self.stderr.write(f"CORRUPT  {sha}: file content does not match its SHA-256")
        root = attachments.files_dir()
        for path in result.orphans:
            self.stdout.write(
                f"ORPHAN   {path.relative_to(root)}: no blob row (left by a rolled-back upload)"
            )
        summary = (
            f"{result.checked} blobs checked: {len(result.missing)} missing, {len(result.corrupted)} corrupted, "
            f"{len(result.orphans)} orphan files"
        )
        if result.missing or result.corrupted:
            self.stderr.write(f"FAILED: {summary}")
            sys.exit(1)
        self.stdout.write(("OK: " if result.ok else "OK (with orphans): ") + summary)
