"""What orders tell the layers above them: goods shipped (the customer's tracking email).

Sent inside the transaction that made the change (as `payments.events` does), so the email queued by
`notifications.receivers` commits with it or not at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.dispatch import Signal

if TYPE_CHECKING:
    from bookdesk.orders.models import Shipment

# Arguments: shipment (its order, carrier, tracking number and link).
shipment_shipped = Signal()


def tell_shipment_shipped(shipment: Shipment) -> None:
    shipment_shipped.send(sender=type(shipment), shipment=shipment)
