"""A customer's cart: what they mean to buy, priced and held only at checkout.

A signed-in customer has one cart; a visitor's cart hangs off their session and is merged into
their own when they sign in. The cart survives a cancelled or failed payment.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from bookdesk.catalog.models import Course, License, Product, Service, product_line_label


class Cart(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="cart"
    )
    session_key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    # The latest order checked out from this cart: replaced (if still unpaid) by the next checkout.
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False) | Q(session_key__isnull=False), name="cart_has_an_owner"
            )
        ]

    def __str__(self) -> str:
        return f"cart of {self.user or 'session ' + (self.session_key or '')[:8]}"


class CartItem(models.Model):
    class Kind(models.TextChoices):
        COURSE = "course", "Course seat"
        SERVICE = "service", "Studio time"
        PRODUCT = "product", "Product"

    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    course = models.ForeignKey(Course, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField(null=True, blank=True)
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    license = models.ForeignKey(License, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField(default=1)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="cart_item_quantity_positive"),
            models.UniqueConstraint(
                fields=["cart", "course"], condition=Q(course__isnull=False), name="cart_item_course_once"
            ),
            models.UniqueConstraint(
                fields=["cart", "service", "starts_at"],
                condition=Q(service__isnull=False),
                name="cart_item_slot_once",
            ),
            models.UniqueConstraint(
                fields=["cart", "product"], condition=Q(product__isnull=False), name="cart_item_product_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} × {self.quantity}"

    @property
    def kind_label(self) -> str:
        """ "Course seat", "Studio time", "License" or "Goods", as the order's line will say."""
        if self.kind == CartItem.Kind.PRODUCT:
            return product_line_label(licensed=self.license_id is not None)
        return str(self.get_kind_display())
