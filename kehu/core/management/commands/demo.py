from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kehu.core import demo


class Command(BaseCommand):
    help = "Load the demo data set once (organisation, users for every role, and each module's demo data)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--logins", action="store_true", help="only print the demo logins")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["logins"]:
            ran = demo.load_all()
            self.stdout.write("Demo data loaded: " + ", ".join(ran) if ran else "Demo data already loaded.")
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {demo.DEMO_PASSWORD}):")
        for username, name, roles in demo.logins():
            self.stdout.write(f"  {username:<10} {name:<6} {roles}")
