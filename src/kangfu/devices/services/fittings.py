"""Fitting assessments (适配评估), and whether a rental needs one first."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from kangfu.core import audit
from kangfu.core.models import AuditAction, User
from kangfu.devices.models import Category, Fitting, Product, Rental, RentalStatus
from kangfu.devices.services.common import FUTURE, local_today, require_centre
from kangfu.people.models import Person


def fitting_record(*, actor: User, person: Person, category: Category, values: dict) -> Fitting:
    centre = require_centre(actor)
    if values.get("assessed_on") and values["assessed_on"] > local_today():
        raise ValidationError({"assessed_on": [FUTURE]})
    with transaction.atomic():
        fitting = Fitting.objects.create(
            person=person, category=category, centre=centre, assessor=actor, **values
        )
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=fitting,
            person_id=person.pk,
            summary=f"{person.name} 的适配评估（{category.name}）：{'适合' if fitting.suitable else '不适合'}",
        )
    return fitting


def fitting_needed(*, person: Person, product: Product) -> tuple[bool, Fitting | None]:
    """Whether renting `product` needs a fitting first, and the fitting that covers it if any.

    A fitting is needed the first time a person rents a product class that asks for one; the latest
    fitting of that class counts, and one that found the class unsuitable blocks the rental."""
    latest = (
        Fitting.objects.filter(person=person, category_id=product.category_id)
        .order_by("-assessed_on", "-id")
        .first()
    )
    if not product.needs_fitting:
        return False, latest
    rented_before = Rental.objects.filter(
        person=person,
        product__category_id=product.category_id,
        status__in=[RentalStatus.ACTIVE, RentalStatus.RETURNED],
    ).exists()
    return (latest is None and not rented_before), latest
