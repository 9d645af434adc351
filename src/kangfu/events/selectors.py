"""Reads of the webhook pages: the city administrator's only."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from kangfu.core import access
from kangfu.core.models import User
from kangfu.events.models import Delivery, DeliveryState, Webhook


def webhooks_for(user: User) -> QuerySet[Webhook]:
    """Every receiver, with its counts, for a role that sets the city's standards; none otherwise."""
    if not access.policy(user).sets_standards:
        return Webhook.objects.none()
    return (
        Webhook.objects.select_related("region")
        .annotate(
            pending=Count("deliveries", filter=Q(deliveries__state=DeliveryState.PENDING)),
            dead=Count("deliveries", filter=Q(deliveries__state=DeliveryState.DEAD)),
        )
        .order_by("name", "id")
    )


def webhook_for(user: User, pk: int) -> Webhook:
    from django.shortcuts import get_object_or_404

    return get_object_or_404(webhooks_for(user), pk=pk)


def deliveries_for(user: User, webhook: Webhook) -> QuerySet[Delivery]:
    """A receiver's deliveries, newest first; failures first would hide the order they are sent in."""
    return (
        Delivery.objects.filter(webhook=webhook, webhook__in=webhooks_for(user).values("pk"))
        .select_related("event")
        .order_by("-position")
    )


def webhooks_with_dead() -> QuerySet[Webhook]:
    """For the command: every receiver with a given-up delivery (no user: the operator's own)."""
    return Webhook.objects.filter(deliveries__state=DeliveryState.DEAD).distinct()
