"""Benchmark the CPU it takes to make an invoice's or a credit note's PDF (fpdf2), in this process.

    python bench/bench_documents.py [--documents 300] [--lines 4]

No database and no server: documents are built in memory as `payments.documents` freezes them (seller,
buyer, lines at two tax rates and shipping) and rendered by `payments.document_pdf.render`, the code that
makes the stored PDF. The bench prints CPU per document (process time: mean, p50, p95, max) for an invoice
and a credit note, and, as the bare reference of the same run, a one-line fpdf2 page, with the ratio.
A PDF is made once per document and stored (DESIGN §8), so this is a one-off cost per payment or refund.

Target (DESIGN §8): ≤ 30 ms of CPU per document.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookdesk.settings")
os.environ.setdefault("BOOKDESK_DATA_DIR", "/tmp/bookdesk-bench-documents")  # nothing is written

import django  # noqa: E402

django.setup()

from fpdf import FPDF  # noqa: E402

from bookdesk.orders.models import Order  # noqa: E402
from bookdesk.payments.document_pdf import render  # noqa: E402
from bookdesk.payments.models import CreditNote, Invoice  # noqa: E402

SELLER = {
    "name": "Vinyl & Voice Studio GmbH",
    "address": ["Musterstrasse 1", "10115 Berlin", "Germany"],
    "vat_id": "DE123456789",
}
BUYER = {"name": "Grace Hopper", "email": "grace@example.com", "address": ["1 Harbour Rd", "10115 Berlin", "DE"]}


def invoice(lines: int) -> Invoice:
    rows = []
    for n in range(lines):
        rate = 700 if n % 2 else 1900
        rows.append({"description": f"Item {n} — a course seat, a beat or a record", "quantity": 1 + n % 3,
                     "unit_amount": 2999, "net": 2520, "tax_rate": rate, "tax": 479, "gross": 2999})  # fmt: skip
    shipping = {"unit_amount": 490, "net": 412, "tax_rate": 1900, "tax": 78, "gross": 490}
    rows.append({"description": "Shipping", "quantity": 1, **shipping})
    net, tax = sum(r["net"] for r in rows), sum(r["tax"] for r in rows)
    return Invoice(
        order=Order(code="BD-7K3QX"), year=2026, sequence=1, number="INV-2026-000001",
        issued_at=datetime(2026, 12, 4, 12, tzinfo=UTC), currency="eur", seller=SELLER, buyer=BUYER,
        lines=rows, net_amount=net, tax_amount=tax, total_amount=net + tax,
    )  # fmt: skip


def credit_note(of: Invoice) -> CreditNote:
    rows = [{"description": f"Refund of invoice {of.number} at 19 %", "quantity": 1, "unit_amount": 1190,
             "net": 1000, "tax_rate": 1900, "tax": 190, "gross": 1190}]  # fmt: skip
    return CreditNote(
        invoice=of, stripe_refund_id="re_1", year=2026, sequence=1, number="CN-2026-000001",
        issued_at=datetime(2026, 12, 5, 12, tzinfo=UTC), currency="eur", seller=SELLER, buyer=BUYER,
        lines=rows, net_amount=1000, tax_amount=190, total_amount=1190,
    )  # fmt: skip


def bare_page() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.cell(0, 5, "Hello")
    return bytes(pdf.output())


def cpu_ms(make: Callable[[], bytes], count: int) -> tuple[list[float], int]:
    make()  # warm: fonts' metrics and modules loaded once per process
    samples = []
    size = 0
    for _ in range(count):
        started = time.process_time()
        size = len(make())
        samples.append((time.process_time() - started) * 1000)
    return samples, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--lines", type=int, default=4)
    args = parser.parse_args()
    inv = invoice(args.lines)
    note = credit_note(inv)
    results = {
        "bare fpdf2 page": cpu_ms(bare_page, args.documents),
        f"invoice ({args.lines} lines + shipping)": cpu_ms(lambda: render(inv), args.documents),
        "credit note": cpu_ms(lambda: render(note), args.documents),
    }
    bare = statistics.mean(results["bare fpdf2 page"][0])
    print(f"PDF CPU per document, {args.documents} each (process time, ms); target ≤ 30 ms")
    print(f"{'document':34} {'mean':>7} {'p50':>7} {'p95':>7} {'max':>7} {'bytes':>7} {'× bare':>7}")
    for name, (samples, size) in results.items():
        ordered = sorted(samples)
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        mean = statistics.mean(samples)
        figures = f"{mean:7.2f} {statistics.median(samples):7.2f} {p95:7.2f} {ordered[-1]:7.2f}"
        print(f"{name:34} {figures} {size:7d} {mean / bare:7.1f}")


if __name__ == "__main__":
    main()
