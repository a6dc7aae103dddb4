"""Payment-intent ids become unique (the next migration). First: no intent is NULL rather than "", and where
two payments share an intent already (a forged or mistaken event applied before this release), the first
payment keeps it and each later one loses it, with an audit entry on its order saying so."""

from django.db import migrations, models


def clear_blank_and_duplicate_intents(apps, schema_editor):  # type: ignore[no-untyped-def]
    Payment = apps.get_model("payments", "Payment")
    AuditEntry = apps.get_model("orders", "AuditEntry")
    Payment.objects.filter(payment_intent_id="").update(payment_intent_id=None)
    shared = (
        Payment.objects.exclude(payment_intent_id=None)
        .values("payment_intent_id")
        .annotate(n=models.Count("pk"))
        .filter(n__gt=1)
        .values_list("payment_intent_id", flat=True)
    )
    for intent in list(shared):
        first, *later = Payment.objects.filter(payment_intent_id=intent).order_by("pk")
        for payment in later:
            payment.payment_intent_id = None
            payment.save(update_fields=["payment_intent_id"])
            AuditEntry.objects.create(
                actor="system",
                action="payment.intent_cleared",
                order_id=payment.order_id,
                object_type="payment",
                object_id=str(payment.pk),
                data={
                    "payment_intent": intent,
                    "kept_by_payment": first.pk,
                    "reason": "payment-intent ids became unique; the first payment recorded with it keeps it",
                },
            )


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0003_bookings_list_indexes"),
        ("payments", "0004_reconcile_runs"),
    ]

    operations = [
        migrations.AlterField(
            model_name="payment",
            name="payment_intent_id",
            field=models.CharField(blank=True, db_index=True, max_length=255, null=True),
        ),
        migrations.RunPython(clear_blank_and_duplicate_intents, migrations.RunPython.noop),
    ]
