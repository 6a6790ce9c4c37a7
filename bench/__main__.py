"""``python -m bench``: run the benchmarks on a throwaway database and print figures and ratios.

    python -m bench [--scale tiny|small|medium|large] [--only NAME] [--database-url URL]

Without ``--database-url`` the run uses a SQLite file in a temporary directory; with it (an administrator URL
such as ``postgres://postgres@127.0.0.1:5432/postgres``) a database ``kehu_bench_run`` is created for the run and
dropped afterwards. Results are also written to ``bench/results/latest.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

RUN_DB = "kehu_bench_run"
RESULTS = Path(__file__).resolve().parent / "results"

# name -> arguments of each benchmark at that scale
SCALES: dict[str, dict[str, dict[str, Any]]] = {
    "tiny": {
        "login": {"n": 3, "users": 10},
        "audit_write": {"n": 200, "single": 20},
        "audit_verify": {"entries": 500},
        "workflow": {"scale": "tiny"},
        "customers": {"scale": "tiny"},
        "customer_import": {"scale": "tiny"},
        "receivables": {"scale": "tiny"},
        "grading": {"scale": "tiny"},
        "orders": {"scale": "tiny"},
    },
    "small": {
        "login": {"n": 30, "users": 100},
        "audit_write": {"n": 10_000, "single": 1_000},
        "audit_verify": {"entries": 100_000},
        "workflow": {"scale": "small"},
        "customers": {"scale": "small"},
        "customer_import": {"scale": "small"},
        "receivables": {"scale": "small"},
        "grading": {"scale": "small"},
        "orders": {"scale": "small"},
    },
    "medium": {
        "login": {"n": 50, "users": 1_000},
        "audit_write": {"n": 100_000, "single": 5_000},
        "audit_verify": {"entries": 200_000},
        "workflow": {"scale": "medium"},
        "customers": {"scale": "medium"},
        "customer_import": {"scale": "medium"},
        "receivables": {"scale": "medium"},
        "grading": {"scale": "medium"},
        "orders": {"scale": "medium"},
    },
    "large": {
        "login": {"n": 300, "users": 10_000},
        "audit_write": {"n": 500_000, "single": 20_000},
        "audit_verify": {"entries": 1_000_000},
        "workflow": {"scale": "large"},
        "customers": {"scale": "large"},
        "customer_import": {"scale": "large"},
        "receivables": {"scale": "large"},
        "grading": {"scale": "large"},
        "orders": {"scale": "large"},
    },
}
DEFAULT_SCALE = "small"


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _pg_admin(url: str, sql: str) -> None:
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or None,
        dbname=(parts.path or "/postgres").lstrip("/") or "postgres",
        autocommit=True,
    ) as conn:
        conn.execute(sql)


def _prepare_environment(args: argparse.Namespace, var_dir: str) -> str:
    """Point the settings at a throwaway database; returns its description."""
    os.environ["KEHU_VAR_DIR"] = var_dir
    os.environ["KEHU_FILES_DIR"] = os.path.join(var_dir, "files")
    os.makedirs(os.path.join(var_dir, "static"), exist_ok=True)
    os.environ.setdefault("KEHU_ENV", "development")
    os.environ["KEHU_DEBUG"] = "0"
    os.environ["KEHU_LOG_LEVEL"] = "WARNING"
    os.environ["DJANGO_SETTINGS_MODULE"] = "kehu.settings"
    if args.database_url:
        _pg_admin(args.database_url, f'DROP DATABASE IF EXISTS "{RUN_DB}"')
        _pg_admin(args.database_url, f'CREATE DATABASE "{RUN_DB}"')
        os.environ["DATABASE_URL"] = _with_db(args.database_url, RUN_DB)
        return f"PostgreSQL ({RUN_DB})"
    os.environ.pop("DATABASE_URL", None)
    return "SQLite (temporary file)"


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def print_table(figures: list[dict[str, Any]], out: Any = sys.stdout, *, header: bool = True) -> None:
    head = f"{'benchmark':<38} {'N':>9} {'seconds':>9} {'rate':>12} {'unit':<10} {'ratio':>7}  baseline / details"
    if header:
        out.write(head + "\n" + "-" * len(head) + "\n")
    for f in figures:
        extra = f.get("extra") or {}
        details = ", ".join(f"{k}={_fmt(v) if isinstance(v, float) else v}" for k, v in extra.items())
        out.write(
            f"{f['name']:<38} {f['n']:>9,} {f['seconds']:>9.2f} {f['rate']:>12,.1f} {f['unit']:<10} "
            f"{_fmt(f['ratio']):>7}  vs {f['baseline']}" + (f"; {details}" if details else "") + "\n"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__.splitlines()[0] if __doc__ else ""
    )
    parser.add_argument("--scale", choices=list(SCALES), default=DEFAULT_SCALE)
    parser.add_argument("--only", choices=list(SCALES[DEFAULT_SCALE]), action="append",
                        help="run only this benchmark (repeatable)")  # fmt: skip
    parser.add_argument(
        "--database-url", help="PostgreSQL administrator URL; SQLite in a temporary dir if unset"
    )
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)

    var_dir = tempfile.mkdtemp(prefix="kehu-bench-")
    database = _prepare_environment(args, var_dir)
    try:
        import django

        django.setup()
        from django.core.management import call_command

        from bench.benchmarks import BENCHMARKS

        print(f"Kehu benchmarks: scale {args.scale}, {database}", flush=True)
        t0 = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        print(f"migrated in {time.perf_counter() - t0:.1f} s", flush=True)
        figures: list[dict[str, Any]] = []
        for name, fn in BENCHMARKS.items():
            if args.only and name not in args.only:
                continue
            params = SCALES[args.scale][name]
            print(f"running {name} {params} ...", flush=True)
            t0 = time.perf_counter()
            for fig in fn(seed=args.seed, **params):
                figures.append(fig.as_dict())
                print_table([fig.as_dict()], header=False)
            print(f"  ({time.perf_counter() - t0:.1f} s)", flush=True)
        print()
        print_table(figures)
        RESULTS.mkdir(exist_ok=True)
        report = {
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "scale": args.scale,
            "database": database,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "figures": figures,
        }
        (RESULTS / "latest.json").write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str))
        print(f"\nwritten to {RESULTS / 'latest.json'}")
    finally:
        from django.db import connections

        connections.close_all()
        if args.database_url:
            _pg_admin(args.database_url, f'DROP DATABASE IF EXISTS "{RUN_DB}"')
        shutil.rmtree(var_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
