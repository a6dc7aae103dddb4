"""The "operator" staff role (see `bookdesk/accounts/roles.py`): a frozen copy of its permissions.

In accounts because roles are about who may do what, beside every layer; it depends on the apps whose
models it grants. Permissions are made here if missing (they are otherwise made after all migrations).
"""

from django.db import migrations

GROUP = "operator"
PERMISSIONS = {
    "catalog": {
        model: ("view", "add", "change")
        for model in (
            "course",
            "resource",
            "openinghours",
            "service",
            "product",
            "license",
            "voicetag",
            "shippingzone",
            "shippingrate",
        )
    },
    "orders": {
        "order": ("view", "change"),
        "orderline": ("view",),
        "booking": ("view", "change"),
        "reservation": ("view",),
        "grant": ("view",),
        "auditentry": ("view",),
        "stockhold": ("view",),
        "shipment": ("view", "change"),
    },
    "payments": {
        "payment": ("view",),
        "refund": ("view", "add"),
        "webhookevent": ("view", "change"),
        "invoice": ("view",),
        "creditnote": ("view",),
        "reconcilerun": ("view",),
    },
    "notifications": {"outgoingemail": ("view", "change")},
}


def create_operator_group(apps, schema_editor):  # type: ignore[no-untyped-def]
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    group, _ = Group.objects.get_or_create(name=GROUP)
    for app_label, models in PERMISSIONS.items():
        for model, actions in models.items():
            content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model)
            verbose = apps.get_model(app_label, model)._meta.verbose_name
            for action in actions:
                permission, _ = Permission.objects.get_or_create(
                    content_type=content_type,
                    codename=f"{action}_{model}",
                    defaults={"name": f"Can {action} {verbose}"},
                )
                group.permissions.add(permission)


def remove_operator_group(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("catalog", "0004_product_stock_weight_shipping_zones"),
        ("orders", "0008_stock_holds_and_shipments"),
        ("payments", "0008_payment_shipping_quote"),
        ("notifications", "0002_shop_names_in_admin"),
        ("ops", "0001_worker_heartbeat"),
    ]

    operations = [migrations.RunPython(create_operator_group, remove_operator_group)]
