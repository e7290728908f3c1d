"""Operator commands: `python -m ctreflex.cli seed | check-db | early-access NAME on|off |
operator-add EMAIL [PASSWORD]`."""

from __future__ import annotations

import argparse
import sys

from sqlmodel import select

from ctreflex import db
from ctreflex.models import Account
from ctreflex.services import seed
from ctreflex.settings import InsecureSettings, check_secrets, get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ctreflex.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "check-db",
        help="fail with a clear message when the database is unreachable or a secret setting "
        "holds a placeholder where other machines reach the app",
    )
    sub.add_parser("host", help="print the address the server listens on (CTREFLEX_HOST)")
    sub.add_parser("seed", help="create plans, and the demo business when the database is empty")
    early = sub.add_parser("early-access", help="grant or revoke WhatsApp early access (operator)")
    early.add_argument("account")
    early.add_argument("state", choices=["on", "off"])
    operator = sub.add_parser(
        "operator-add",
        help="create a platform operator (platform jobs and figures), or reset their password; "
        "without PASSWORD it is read from the terminal or stdin",
    )
    operator.add_argument("email")
    operator.add_argument("password", nargs="?", default=None)
    args = parser.parse_args(argv)

    if args.command == "host":
        print(get_settings().host)
        return 0
    if args.command == "check-db":
        try:
            check_secrets()
        except InsecureSettings as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    try:
        db.check_database()
    except db.DatabaseUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "check-db":
        print("database reachable")
        return 0
    with db.session_scope() as session:
        if args.command == "seed":
            seeded = seed.seed_demo(session=session)
            if seeded:
                seed.seed_usage_history(session=session)
            print("demo data created" if seeded else "database already has data; demo seed skipped")
        elif args.command == "early-access":
            account = session.exec(select(Account).where(Account.name == args.account)).first()
            if account is None:
                print(f"error: no account named {args.account!r}", file=sys.stderr)
                return 1
            account.early_access = args.state == "on"
            print(f"early access for {account.name}: {args.state}")
        elif args.command == "operator-add":
            return _operator_add(session, args.email, args.password)
    return 0


def _operator_add(session, email: str, password: str | None) -> int:
    import getpass

    from ctreflex.services import users

    if password is None:
        password = (
            getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline()
        ).rstrip("\n")
    seed.ensure_plans(session=session)
    try:
        user = users.add_operator(session=session, email=email, password=password)
    except users.UserError as exc:
        print(f"error: {exc.field or 'operator'}: {exc.message}", file=sys.stderr)
        return 1
    print(f"{user.email} is a platform operator of {users.PLATFORM_ACCOUNT!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
