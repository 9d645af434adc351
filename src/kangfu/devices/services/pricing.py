"""A rental's bill: the centre's pricing policy, the facts about the renter, the rules' lines, and the
charges booked from them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Q, Sum

from kangfu.core.models import Organisation, RegionLevel, User
from kangfu.devices import rules
from kangfu.devices.models import Charge, ChargeKind, PricingPolicy, Product, Rental
from kangfu.devices.services.common import NEGATIVE_MONEY
from kangfu.people.models import CertificateStatus, IncomePeriod, IncomeStatus, Person

BAD_PERIOD = "到期日期不能早于起租日期。"
SUBSIDY_OVER_CAP = "补贴超出年度上限：本年度剩余额度 {remaining} 元，本次最多可补贴 {allowed} 元。"

INCOME_STATUSES_FOR_SUBSIDY = (IncomeStatus.DIBAO, IncomeStatus.DIBAO_EDGE, IncomeStatus.TEKUN)


def policy_of(centre: Organisation) -> PricingPolicy:
    found, _ = PricingPolicy.objects.get_or_create(centre=centre)
    return found


def rules_policy(policy: PricingPolicy) -> rules.Policy:
    return rules.Policy(
        subsidy_mode=policy.subsidy_mode,
        subsidy_share=policy.subsidy_share,
        subsidy_amount_per_month=policy.subsidy_amount_per_month,
        subsidy_cap_per_year=policy.subsidy_cap_per_year,
        elderly_age=policy.elderly_age,
        elderly_discount_share=policy.elderly_discount_share,
        injured_discount_share=policy.injured_discount_share,
        waive_deposit_for_subsidised=policy.waive_deposit_for_subsidised,
        overdue_fee_multiplier=policy.overdue_fee_multiplier,
    )


def subsidy_used(*, person: Person, year: int, exclude: Rental | None = None) -> Decimal:
    """Subsidy a person has had for rentals starting in `year` (the cap is per rental year)."""
    rows = Charge.objects.filter(
        kind=ChargeKind.SUBSIDY, rental__person=person, rental__start_date__year=year
    )
    if exclude is not None:
        rows = rows.exclude(rental=exclude)
    return -(rows.aggregate(total=Sum("amount"))["total"] or rules.ZERO)


def pricing_facts(
    *, person: Person, centre: Organisation, on: dt.date, injured: bool, exclude: Rental | None = None
) -> rules.Facts:
    valid_cert = (
        person.certificates.filter(status=CertificateStatus.VALID)
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=on))
        .exists()
    )
    poor = (
        IncomePeriod.objects.filter(person=person, status__in=INCOME_STATUSES_FOR_SUBSIDY, start_date__lte=on)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=on))
        .exists()
    )
    city = centre.region.ancestor(RegionLevel.CITY)[:4]
    return rules.Facts(
        poor_disabled=valid_cert and poor,
        age=person.age_on(on),
        local=bool(person.hukou_region_id) and person.hukou_region_id.startswith(city),
        injured=injured,
        subsidy_used_this_year=subsidy_used(person=person, year=on.year, exclude=exclude),
    )


def quote(
    *,
    person: Person,
    product: Product,
    start: dt.date,
    end: dt.date,
    injured: bool = False,
    subsidy_limit: Decimal | None = None,
    exclude: Rental | None = None,
) -> list[rules.Line]:
    """The bill the rules give for renting `product` to `person` over a period, without saving."""
    if end < start:
        raise ValidationError({"end_date": [BAD_PERIOD]})
    policy = policy_of(product.centre)
    facts = pricing_facts(person=person, centre=product.centre, on=start, injured=injured, exclude=exclude)

    def price_with(limit: Decimal | None) -> list[rules.Line]:
        return rules.price(
            per_day=product.rent_per_day,
            per_month=product.rent_per_month,
            deposit=product.deposit,
            start=start,
            end=end,
            facts=facts,
            policy=rules_policy(policy),
            subsidy_limit=limit,
        )

    lines = price_with(None)
    allowed = next((-line.amount for line in lines if line.kind == rules.SUBSIDY), rules.ZERO)
    if subsidy_limit is None:
        return lines
    if subsidy_limit < 0:
        raise ValidationError({"subsidy": [NEGATIVE_MONEY]})
    if subsidy_limit > allowed:
        remaining = max(rules.ZERO, policy.subsidy_cap_per_year - facts.subsidy_used_this_year)
        raise ValidationError(
            {
                "subsidy": [
                    SUBSIDY_OVER_CAP.format(remaining=rules.yuan(remaining), allowed=rules.yuan(allowed))
                ]
            }
        )
    return price_with(subsidy_limit)


def book(rental: Rental, lines: Iterable[rules.Line], *, actor: User | None, on: dt.date) -> None:
    Charge.objects.bulk_create(
        [
            Charge(
                rental=rental,
                kind=line.kind,
                amount=line.amount,
                explanation=line.explanation[:300],
                booked_on=on,
                actor=actor,
            )
            for line in lines
        ]
    )


def bill(rental: Rental) -> dict:
    """The charges of a rental and its two totals: rent payable and deposit held."""
    charges = list(rental.charges.all())
    rent_total = sum(
        (c.amount for c in charges if c.kind not in (ChargeKind.DEPOSIT, ChargeKind.DEPOSIT_REFUND)),
        rules.ZERO,
    )
    deposit_total = sum(
        (c.amount for c in charges if c.kind in (ChargeKind.DEPOSIT, ChargeKind.DEPOSIT_REFUND)), rules.ZERO
    )
    return {
        "charges": charges,
        "rent_total": rules.money(rent_total),
        "deposit_held": rules.money(deposit_total),
    }
