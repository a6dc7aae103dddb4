from django.db import migrations, models


class Migration(migrations.Migration):
    """The sales roll-up finds the days whose orders changed since it last looked (payments/sales_days.py)."""

    dependencies = [
        ("orders", "0009_console_review_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["updated_at"], name="order_updated"),
        ),
    ]
