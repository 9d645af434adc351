"""What the rules need to know about a person, read from the registry and the policy in force."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Q

from kangfu.core.models import Region, RegionLevel
from kangfu.people.models import CertificateStatus, DisabilityCertificate, IncomePeriod, Person, VitalStatus
from kangfu.subsidies import rules
from kangfu.subsidies.models import OtherBenefit, Policy, Standard


def policy_for(region_code: str) -> Policy:
    """The district's own policy, else its city's, else the defaults."""
    district = region_code[:6].ljust(12, "0")
    city = region_code[:4].ljust(12, "0")
    found = Policy.objects.filter(region_id__in=[district, city]).order_by("-region_id").first()
    return found or Policy(region_id=city)


def policy_facts(policy: Policy) -> rules.PolicyFacts:
    return rules.PolicyFacts(
        living_income_statuses=frozenset(s for s in policy.living_income_statuses.split(",") if s),
        care_extra_categories=frozenset(int(c) for c in policy.care_extra_categories.split(",") if c.strip()),
    )


def valid_certificate(person: Person, on: dt.date) -> DisabilityCertificate | None:
    return (
        DisabilityCertificate.objects.filter(person=person, status=CertificateStatus.VALID)
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=on))
        .first()
    )


def standard_amount(*, kind: str, district: str, grade: int, month: dt.date) -> Decimal:
    """The monthly standard for a grade in a district (its own, else its city's); 0 if none."""
    city = district[:4].ljust(12, "0")
    found = (
        Standard.objects.filter(
            kind=kind,
            region_id__in=[district, city],
            grade_min__lte=grade,
            grade_max__gte=grade,
            valid_from__lte=month,
        )
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=month))
        .order_by("-region_id", "-valid_from")
        .first()
    )
    return found.amount if found else Decimal("0.00")


def facts_for(*, person: Person, kind: str, on: dt.date, district: str) -> rules.Facts:
    cert = valid_certificate(person, on)
    incomes = frozenset(
        IncomePeriod.objects.filter(person=person, start_date__lte=on)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=on))
        .values_list("status", flat=True)
    )
    benefits = list(
        OtherBenefit.objects.filter(person=person, start_date__lte=on).filter(
            Q(end_date__isnull=True) | Q(end_date__gte=on)
        )
    )
    same_nature = max((b.amount for b in benefits if b.kind == "same_nature"), default=Decimal("0"))
    elderly = [b.amount for b in benefits if b.kind == "elderly_care"]
    month = rules.month_start(on)
    amount = (
        standard_amount(kind=kind, district=district, grade=cert.grade, month=month) if cert else Decimal("0")
    )
    return rules.Facts(
        alive_and_free=person.vital_status == VitalStatus.NORMAL,
        vital_label=person.get_vital_status_display(),
        certificate=(cert.category, cert.grade) if cert else None,
        income_statuses=incomes,
        hukou_in_region=bool(person.hukou_region_id) and person.hukou_region_id.startswith(district[:6]),
        benefits=frozenset(b.kind for b in benefits),
        same_nature_amount=same_nature,
        # unknown (0) if any allowance's amount is: it then counts as the higher
        elderly_care_amount=Decimal("0")
        if any(a <= 0 for a in elderly)
        else max(elderly, default=Decimal("0")),
        amount=amount,
    )


def explain(*, person: Person, kind: str, on: dt.date, district: str) -> rules.Explanation:
    facts = facts_for(person=person, kind=kind, on=on, district=district)
    return rules.Explanation(kind, rules.check(kind, facts, policy_facts(policy_for(district))))


def hukou_community(person: Person) -> Region:
    """Where an application is handled: the community of the household registration, or of the
    residence when the registration is not known at community level."""
    if person.hukou_region_id and len(person.hukou_region_id) == 12:
        region = Region.objects.filter(code=person.hukou_region_id, level=RegionLevel.COMMUNITY).first()
        if region is not None:
            return region
    return person.community
