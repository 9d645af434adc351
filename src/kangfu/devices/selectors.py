"""Reads of the rental business, scoped through the access module."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.shortcuts import get_object_or_404
from django.utils import timezone

from kangfu.core import access
from kangfu.core.models import Organisation, OrganisationKind, User
from kangfu.devices.models import (
    Category,
    Charge,
    ChargeKind,
    Disinfection,
    Product,
    ProductPhoto,
    Rental,
    RentalRequest,
    RentalStatus,
    RequestStatus,
    Unit,
    UnitStatus,
)
from kangfu.devices.rules import ZERO, money
from kangfu.people.models import CertificateStatus, DisabilityCategory, DisabilityCertificate, Person
from kangfu.people.selectors import person_by_id_number
from kangfu.people.services import id_hash


def outlets_of(centre: Organisation) -> QuerySet[Organisation]:
    return Organisation.objects.filter(
        Q(pk=centre.pk) | Q(parent=centre, kind=OrganisationKind.DEVICE_OUTLET)
    ).order_by("pk")


def units_for(user: User) -> QuerySet[Unit]:
    return Unit.objects.filter(access.device_q(user)).select_related("product", "product__category", "outlet")


def rentals_for(user: User) -> QuerySet[Rental]:
    return Rental.objects.filter(access.device_q(user)).select_related("person", "product", "unit", "outlet")


def requests_for(user: User) -> QuerySet[RentalRequest]:
    return RentalRequest.objects.filter(access.device_q(user, field="centre")).select_related(
        "product", "outlet"
    )


def products_for(user: User) -> QuerySet[Product]:
    return Product.objects.filter(access.device_q(user, field="centre")).select_related("category")


# One row in scope, or 404 exactly as if it did not exist (as `people.selectors.person_get_for_user`).


def unit_get_for_user(*, user: User, pk: int | str) -> Unit:
    return get_object_or_404(units_for(user), pk=pk)


def rental_get_for_user(*, user: User, pk: int | str) -> Rental:
    return get_object_or_404(rentals_for(user), pk=pk)


def rental_for_print(*, user: User, pk: int | str) -> Rental:
    """A rental with what its contract and receipt print: the centre and the renter's community."""
    return get_object_or_404(rentals_for(user).select_related("centre", "person__community"), pk=pk)


def request_get_for_user(*, user: User, pk: int | str) -> RentalRequest:
    return get_object_or_404(requests_for(user), pk=pk)


def product_get_for_user(*, user: User, pk: int | str) -> Product:
    return get_object_or_404(products_for(user), pk=pk)


def category_get(*, pk: int | str) -> Category:
    """Device classes are the national classification, shared by every centre."""
    return get_object_or_404(Category, pk=pk)


def catalogue_rows(products: QuerySet[Product], *, user: User) -> list[tuple[Product, dict[str, int]]]:
    """Each product with how many of the user's units are in each state, counted in one query."""
    counts: dict[int, dict[str, int]] = {}
    for row in units_for(user).values("product_id", "status").annotate(n=Count("id")).order_by():
        per = counts.setdefault(row["product_id"], dict.fromkeys(UnitStatus.values, 0))
        per[row["status"]] = row["n"]
    empty = dict.fromkeys(UnitStatus.values, 0)
    return [(p, counts.get(p.pk, empty)) for p in products]


def rentable_products(user: User) -> QuerySet[Product]:
    """Products of the user's centre that are out for rent now."""
    return products_for(user).filter(is_active=True)


def rentable_product(*, user: User, pk: int | str | None) -> Product | None:
    """The product a rental is being made for, or None while the clerk has not chosen one."""
    if not str(pk or "").isdigit():
        return None
    return rentable_products(user).filter(pk=pk).first()


def units_to_rent(*, user: User, product: Product) -> list[Unit]:
    """The product's available units, outlet by outlet, for the rental form's choice."""
    return list(
        units_for(user).filter(product=product, status=UnitStatus.AVAILABLE).order_by("outlet_id", "serial")
    )


def unit_history(unit: Unit) -> dict:
    """A unit's recent events and disinfection records, as its page shows them."""
    return {
        "events": unit.events.select_related("actor", "from_outlet", "to_outlet", "rental")[:100],
        "disinfections": unit.disinfections.select_related("operator")[:20],
    }


def request_person(*, user: User, rental_request: RentalRequest) -> Person | None:
    """The registered person a request's ID number belongs to, if the user may see them."""
    return person_by_id_number(rental_request.id_number, user=user)


# ---------------------------------------------------------------- public pages (no login)


def public_product(pk: int) -> Product:
    """A product a citizen may ask to rent: only those out for rent."""
    return get_object_or_404(Product.objects.select_related("category", "centre"), pk=pk, is_active=True)


def public_request(*, reference: str) -> RentalRequest:
    return get_object_or_404(RentalRequest.objects.select_related("product", "outlet"), reference=reference)


def public_request_lookup(*, reference: str, id_number: str) -> RentalRequest | None:
    """A request found only by both its acknowledgement number and the ID number it was filed with,
    so that knowing one of them shows nothing."""
    return (
        RentalRequest.objects.select_related("product", "outlet")
        .filter(reference=reference, id_number_hash=id_hash(id_number))
        .first()
    )


def public_photo(pk: int) -> ProductPhoto:
    """A photo of a product still out for rent; a withdrawn product's photos are not served."""
    return get_object_or_404(ProductPhoto.objects.filter(product__is_active=True), pk=pk)


def public_catalogue(*, category_id: int | None = None, outlet_id: int | None = None) -> list[dict]:
    """Active products with how many units each outlet has available now: what a citizen sees."""
    products = (
        Product.objects.filter(is_active=True)
        .select_related("category", "centre")
        .prefetch_related("photos")
        .order_by("category__code", "name")
    )
    if category_id:
        products = products.filter(category_id=category_id)
    counts = Unit.objects.filter(status=UnitStatus.AVAILABLE, product__in=products)
    if outlet_id:
        counts = counts.filter(outlet_id=outlet_id)
    available: dict[int, list[tuple[str, int, int]]] = defaultdict(list)
    for row in (
        counts.values("product_id", "outlet_id", "outlet__name").annotate(n=Count("id")).order_by("outlet_id")
    ):
        available[row["product_id"]].append((row["outlet__name"], row["outlet_id"], row["n"]))
    result = []
    for product in products:
        if outlet_id and product.pk not in available:
            continue
        result.append(
            {
                "product": product,
                "outlets": available.get(product.pk, []),
                "total": sum(n for _, _, n in available.get(product.pk, [])),
            }
        )
    return result


def worklists(user: User, *, today: dt.date | None = None) -> dict:
    today = today or timezone.localdate()
    rentals = rentals_for(user)
    return {
        "new_requests": requests_for(user).filter(status=RequestStatus.NEW).order_by("created_at")[:50],
        "to_hand_over": rentals.filter(status=RentalStatus.RESERVED).order_by("start_date")[:50],
        "overdue": rentals.filter(status=RentalStatus.ACTIVE, end_date__lt=today).order_by("end_date")[:50],
        "due_soon": rentals.filter(
            status=RentalStatus.ACTIVE, end_date__gte=today, end_date__lte=today + dt.timedelta(days=7)
        ).order_by("end_date")[:50],
        "to_clean": units_for(user)
        .filter(status__in=[UnitStatus.RETURNED, UnitStatus.CLEANING])
        .order_by("status_changed_at")[:50],
    }


def statistics(user: User, *, year: int) -> dict:
    """Rentals by month, category and outlet; utilisation; overdue; subsidy and discount spent
    against budget; people served by disability category and age. All in a few grouped queries."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    today = timezone.localdate()
    rentals = Rental.objects.filter(access.device_q(user)).exclude(status=RentalStatus.CANCELLED)
    in_year = rentals.filter(start_date__gte=start, start_date__lte=end)
    by_month = {
        row["month"].month: row["n"]
        for row in in_year.annotate(month=TruncMonth("start_date")).values("month").annotate(n=Count("id"))
    }
    by_category = list(
        in_year.values(code=F("product__category__code"), name=F("product__category__name"))
        .annotate(n=Count("id"))
        .order_by("-n", "code")
    )
    by_outlet = list(in_year.values(name=F("outlet__name")).annotate(n=Count("id")).order_by("-n", "name"))
    charges = Charge.objects.filter(
        access.device_q(user, field="rental__outlet"),
        rental__start_date__gte=start,
        rental__start_date__lte=end,
    )
    sums = {row["kind"]: row["total"] for row in charges.values("kind").annotate(total=Sum("amount"))}
    subsidy = -(sums.get(ChargeKind.SUBSIDY) or ZERO)
    discount = -(sums.get(ChargeKind.DISCOUNT) or ZERO)
    rent = sum(
        (sums.get(k) or ZERO)
        for k in (
            ChargeKind.RENT,
            ChargeKind.SUBSIDY,
            ChargeKind.DISCOUNT,
            ChargeKind.OVERDUE,
            ChargeKind.DAMAGE,
        )
    )
    centre = access.device_centre(user)
    budgets = None
    if centre is not None and hasattr(centre, "device_pricing"):
        budgets = {
            "subsidy": centre.device_pricing.subsidy_budget_per_year,
            "discount": centre.device_pricing.discount_budget_per_year,
        }
    utilisation = _utilisation(user, start=start, end=min(end, today))
    people = in_year.values("person_id").distinct()
    categories = dict(DisabilityCategory.choices)
    by_disability = {
        categories[row["category"]]: row["n"]
        for row in DisabilityCertificate.objects.filter(person_id__in=people, status=CertificateStatus.VALID)
        .values("category")
        .annotate(n=Count("person_id", distinct=True))
    }
    ages: dict[str, int] = defaultdict(int)
    for row in in_year.values("person_id", "person__birth_date").distinct():
        age = (today - row["person__birth_date"]).days // 365
        band = "0–17岁" if age < 18 else "18–59岁" if age < 60 else "60–79岁" if age < 80 else "80岁以上"
        ages[band] += 1
    return {
        "year": year,
        "rentals": in_year.count(),
        "people": people.count(),
        "by_month": [by_month.get(m, 0) for m in range(1, 13)],
        "by_category": by_category,
        "by_outlet": by_outlet,
        "rent_income": money(rent),
        "subsidy": money(subsidy),
        "discount": money(discount),
        "budgets": budgets,
        "utilisation": utilisation,
        "overdue": rentals.filter(status=RentalStatus.ACTIVE, end_date__lt=today).count(),
        "by_disability": by_disability,
        "by_age": dict(sorted(ages.items())),
        "disinfections": Disinfection.objects.filter(
            access.device_q(user, field="unit__outlet"),
            finished_at__date__gte=start,
            finished_at__date__lte=end,
            passed=True,
        ).count(),
    }


def _utilisation(user: User, *, start: dt.date, end: dt.date) -> Decimal:
    """Share of unit-days in the period that units spent out on rental (hand-over to return)."""
    if end < start:
        return ZERO
    units = Unit.objects.filter(access.device_q(user)).exclude(status=UnitStatus.RETIRED)
    unit_days = 0
    for acquired in units.values_list("acquired_on", flat=True):
        first = max(acquired, start)
        if first <= end:
            unit_days += (end - first).days + 1
    if not unit_days:
        return ZERO
    rented_days = 0
    rows = Rental.objects.filter(access.device_q(user), handed_over_at__isnull=False).filter(
        Q(returned_on__isnull=True) | Q(returned_on__gte=start), start_date__lte=end
    )
    for begin, until in rows.values_list("start_date", "returned_on"):
        first, last = max(begin, start), min(until or end, end)
        if last >= first:
            rented_days += (last - first).days + 1
    return (Decimal(rented_days) / Decimal(unit_days) * 100).quantize(Decimal("0.1"))


def categories() -> QuerySet[Category]:
    return Category.objects.filter(is_active=True)


def person_tab_context(request, person) -> dict:
    """The 辅具租赁 tab of a person's record: their rentals and fittings the user may see."""
    user = request.user
    rights = access.policy(user)
    rentals = Rental.objects.filter(access.device_q(user), person=person).select_related(
        "product", "outlet", "unit"
    )
    return {
        "rentals": list(rentals[:50]),
        "fittings": list(person.device_fittings.select_related("category")[:20])
        if rights.runs_devices
        else [],
        "can_rent": rights.runs_devices,
    }
