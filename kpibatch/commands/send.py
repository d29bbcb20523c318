"""``kpibatch send``: mail a report now, again, or the mail a failed run left pending.

With ``--file`` the given workbooks are sent; with ``--run`` the workbooks of that run; with
``--resend`` the given outbox rows (a mail recorded as "maybe sent" goes again only this way); with
none of them, every pending mail. Exit code 5 when any mail could not be delivered (it stays pending)
or may have been delivered without the server saying so.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from kpibatch.batch import receipts
from kpibatch.commands.common import add_common, settings_from
from kpibatch.config import Settings
from kpibatch.deliver.service import Delivery, prepare, send_later
from kpibatch.deliver.summary import SummaryError
from kpibatch.errors import ExitCode, UsageError


def register(commands: Any) -> None:
    send = commands.add_parser(
        "send",
        help="mail consolidated workbooks: pending mail, a run's workbooks, or given files",
        description="Send the mail of workbooks written by `kpibatch run`: every pending mail (the "
        "default), the workbooks of one run (--run), or the given workbooks (--file).",
    )
    which = send.add_mutually_exclusive_group()
    which.add_argument("--run", type=int, metavar="ID", help="re-send the workbooks of run ID")
    which.add_argument(
        "--file",
        type=Path,
        action="append",
        metavar="WORKBOOK",
        help="send this workbook (results.json must be beside it); may be repeated",
    )
    which.add_argument(
        "--resend",
        type=int,
        action="append",
        metavar="ID",
        help="send mail ID of the outbox again, whatever its status (e.g. maybe sent); may be repeated",
    )
    which.add_argument(
        "--resend-receipt",
        type=int,
        action="append",
        metavar="ID",
        help="send receipt ID again, whatever its status (e.g. maybe sent); may be repeated",
    )
    send.add_argument("--out", type=Path, help="output folder of the runs (where the ledger is)")
    send.add_argument(
        "--dry-run", action="store_true", help="write each mail as .eml beside its workbook instead"
    )
    add_common(send)
    send.set_defaults(handler=handle)


def handle(args: argparse.Namespace, out: TextIO) -> int:
    settings = settings_from(args, out=args.out)
    for warning in prepare(settings, email=True, dry_run=args.dry_run):
        print(warning, file=out)
    only_receipts = bool(args.resend_receipt)
    everything_pending = not (args.run or args.file or args.resend or only_receipts)
    try:
        deliveries = (
            []
            if only_receipts
            else send_later(
                settings,
                run_id=args.run,
                files=args.file or (),
                resend=args.resend or (),
                dry_run=args.dry_run,
                log=lambda line: print(line, file=out),
            )
        )
        # receipts left pending go with every pending mail; --resend-receipt sends the given ones
        receipted = (
            receipts.send_later(
                receipt_parts(settings), resend=args.resend_receipt or (), dry_run=args.dry_run
            )
            if everything_pending or only_receipts
            else []
        )
    except (LookupError, SummaryError) as exc:
        raise UsageError(str(exc)) from exc
    if not deliveries and not receipted:
        print("ไม่มีอีเมลค้างส่ง / no pending mail", file=out)
    print_deliveries(deliveries, out)
    receipts.print_receipts(receipted, out)
    failed = any(not d.ok for d in deliveries) or any(not d.ok for d in receipted)
    return ExitCode.MAIL if failed else ExitCode.OK


def print_deliveries(deliveries: Sequence[Delivery], out: TextIO) -> None:
    for d in deliveries:
        if d.outcome == "written":
            print(f"mail written (not sent): {d.eml}", file=out)
        elif d.outcome == "sent":
            print(f"ส่งอีเมลแล้ว / mail sent: {d.workbook.name} {d.detail}", file=out)
            for refused in d.refused:
                print(f"  ผู้รับถูกปฏิเสธ / recipient refused: {refused}", file=out)
        elif d.outcome == "pending":
            print(
                f"ส่งอีเมลไม่สำเร็จ / mail NOT sent: {d.workbook.name}: {d.detail}\n"
                "  the report is on disk; the mail is pending and `kpibatch send` or the next run retries it",
                file=out,
            )
        elif d.outcome == "maybe_sent":
            print(
                f"ไม่ทราบผลการส่งอีเมล / mail MAYBE sent: {d.workbook.name}: {d.detail}\n"
                "  the server may have it, so it is not sent again automatically; if it did not arrive, "
                f"`kpibatch send --resend {d.row_id}` sends it again",
                file=out,
            )
        else:
            print(f"ส่งอีเมลไม่ได้ / mail cannot be sent: {d.workbook}: {d.detail}", file=out)


def receipt_parts(settings: Settings) -> receipts.Receipting:
    """What the receipts (``kpibatch.batch.receipts``) are given of the settings."""
    return receipts.Receipting(
        mail=settings.mail,
        smtp=settings.smtp,
        divisions=settings.divisions,
        printing=settings.printing,
        style=settings.style,
        paths=settings.paths,
    )
