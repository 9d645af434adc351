"""Reads of the registry, always scoped to the user through the access module."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from kangfu.core import access
from kangfu.core.ids import normalize_id_number, normalize_phone
from kangfu.core.models import User
from kangfu.people.models import (
    CertificateStatus,
    DisabilityCertificate,
    Guardian,
    IncomePeriod,
    LifeEvent,
    Person,
)
from kangfu.people.services import certificate_hash, id_hash, phone_hash

_ID_LIKE = re.compile(r"^(\d{15}|\d{17}[\dXx])$")
_CERT_LIKE = re.compile(r"^\d{17}[\dXx]\d{2}$")
_PHONE_LIKE = re.compile(r"^(\+?86)?(1\d{10}|0\d{2,3}-?\d{7,8})$")


def valid_certificates() -> QuerySet[DisabilityCertificate]:
    return DisabilityCertificate.objects.filter(status=CertificateStatus.VALID)


def person_list(*, user: User) -> QuerySet[Person]:
    """People in the user's jurisdiction, newest first, with what a list row shows."""
    return (
        access.scope_people(Person.objects.all(), user)
        .select_related("community", "street")
        .prefetch_related(
            Prefetch("certificates", queryset=valid_certificates(), to_attr="valid_certificates")
        )
        .order_by("-id")
    )


def person_get_for_user(*, user: User, pk: int | str) -> Person:
    """One person in scope, or 404 as if no such person existed."""
    return access.get_in_scope(
        Person.objects.select_related("community", "street", "district", "hukou_region"), user, pk=pk
    )


def _item_for_user(queryset: QuerySet, *, user: User, person_pk: int, pk: int):
    return access.get_in_scope(
        queryset.select_related("person"), user, prefix="person__", pk=pk, person_id=person_pk
    )


def guardian_get_for_user(*, user: User, person_pk: int, pk: int) -> Guardian:
    """One guardian of one person in scope (both numbers from the URL must agree), or 404."""
    return _item_for_user(Guardian.objects.all(), user=user, person_pk=person_pk, pk=pk)


def certificate_get_for_user(*, user: User, person_pk: int, pk: int) -> DisabilityCertificate:
    """One certificate of one person in scope, or 404."""
    return _item_for_user(DisabilityCertificate.objects.all(), user=user, person_pk=person_pk, pk=pk)


def income_period_get_for_user(*, user: User, person_pk: int, pk: int) -> IncomePeriod:
    """One income period of one person in scope, or 404."""
    return _item_for_user(IncomePeriod.objects.all(), user=user, person_pk=person_pk, pk=pk)


def person_by_id_number(number: str, *, user: User | None = None, to_act: bool = False) -> Person | None:
    """The one person an ID number names (normalised: spaces, a lowercase x, a 15-digit number), among
    the people `user` reads when given, else anywhere (a service acting for the system, such as routing
    an application to the household's community); None if there is none or the number is malformed.
    With `to_act`, anyone in the user's jurisdiction: a clinician names a patient it does not serve
    yet in order to refer it or receive its application (`access.reachable_q`).
    Every "find a person by ID number" goes through here."""
    try:
        normal = normalize_id_number(number, today=timezone.localdate()).number
    except ValidationError:
        return None
    people = Person.objects.filter(id_number_hash=id_hash(normal))
    if user is not None:
        people = people.filter(access.reachable_q(user) if to_act else access.people_q(user))
    return people.first()


def person_detail_related(person: Person) -> dict[str, list]:
    """Sub-records shown on a person's tabs."""
    return {
        "guardians": list(Guardian.objects.filter(person=person)),
        "certificates": list(DisabilityCertificate.objects.filter(person=person)),
        "income_periods": list(IncomePeriod.objects.filter(person=person)),
        "life_events": list(
            LifeEvent.objects.filter(person=person).select_related("to_region", "recorded_by")
        ),
    }


def search_q(text: str) -> Q:
    """What a search box means: an ID, certificate or phone number matches exactly (through the
    blind index); anything else is the beginning of a name."""
    value = re.sub(r"\s+", "", text or "")
    if not value:
        return Q()
    if _CERT_LIKE.match(value):
        return Q(
            Exists(
                DisabilityCertificate.objects.filter(
                    person=OuterRef("pk"), number_hash=certificate_hash(value.upper())
                )
            )
        )
    if _ID_LIKE.match(value):
        try:
            return Q(id_number_hash=id_hash(normalize_id_number(value, today=timezone.localdate()).number))
        except Exception:
            return Q(pk__in=[])
    if _PHONE_LIKE.match(value):
        try:
            return Q(phone_hash=phone_hash(normalize_phone(value)))
        except Exception:
            return Q(pk__in=[])
    return name_prefix_q(value)


def name_prefix_q(prefix: str) -> Q:
    if connection.vendor == "sqlite":
        # SQLite's LIKE ignores the index unless the column is NOCASE; a range on the binary
        # collation finds the same rows through the index.
        return Q(name__gte=prefix, name__lt=prefix + "\U0010ffff")
    return Q(name__startswith=prefix)


def current_certificate(person: Person) -> DisabilityCertificate | None:
    certs = getattr(person, "valid_certificates", None)
    if certs is None:
        return valid_certificates().filter(person=person).first()
    return certs[0] if certs else None


def home_panel_context(request) -> dict:
    """The home page's people card: the latest people registered in the user's jurisdiction."""
    return {"recent": list(person_list(user=request.user)[:8])}
