"""Reads of 精康, scoped. Clinical content (cases, assessments, plans, follow-ups, intake notes) is
reached only through `case_view`, which decides what of a case the user may see:

- everything, for the rehab and clinical roles of the institution serving the case;
- the parts the sender chose to share, for the receiving institution of a referral that is waiting or
  accepted (nothing once it is declined or withdrawn);
- everything, for a clinician holding an unexpired emergency access to the person (break-the-glass).

Civil-affairs roles never get a case: they see applications, counts and statistics.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Substr
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from kangfu.core import access
from kangfu.core.models import LEVEL_DIGITS, Organisation, OrganisationKind, Region, RegionLevel, User
from kangfu.rehab import scales
from kangfu.rehab.models import (
    OPEN_CASE_STATES,
    PEER_TRAINING_HOURS_REQUIRED,
    SERVED_STATES,
    Activity,
    ActivityPhoto,
    Application,
    ApplicationState,
    Assessment,
    Case,
    CaseStatus,
    DischargeReason,
    EmergencyAccess,
    Intake,
    MonthlyCount,
    Outcome,
    OutcomeCount,
    Placement,
    PlacementOutcome,
    Profession,
    RegisteredPerson,
    RosterImport,
    Scale,
    ServiceType,
    SharePart,
    StaffMember,
    Transfer,
    TransferState,
)

ALL_PARTS = frozenset(SharePart.values)
VISIBLE_TRANSFER_STATES = (TransferState.SENT, TransferState.ACCEPTED, TransferState.COMPLETED)
TARGETS = {2023: 30, 2024: 45, 2025: 60}  # share of registered people receiving standard services (%)
STANDARD_SERVICE_DAYS = 90
TRAINING_HOURS_REQUIRED = Decimal(20)


def hours_required(profession: str) -> Decimal:
    """The yearly training hours a member of staff of this profession must reach."""
    if profession == Profession.PEER:
        return PEER_TRAINING_HOURS_REQUIRED
    return TRAINING_HOURS_REQUIRED


def trained_q(hours: str = "hours") -> Q:
    """Staff (annotated with the year's training `hours`) who reached what their profession must: a
    peer supporter `PEER_TRAINING_HOURS_REQUIRED`, everyone else `TRAINING_HOURS_REQUIRED`."""
    return Q(profession=Profession.PEER, **{f"{hours}__gte": PEER_TRAINING_HOURS_REQUIRED}) | Q(
        ~Q(profession=Profession.PEER), **{f"{hours}__gte": TRAINING_HOURS_REQUIRED}
    )


@dataclass
class CaseView:
    case: Case
    parts: frozenset[str]
    why: str  # own / transfer / emergency
    transfer: Transfer | None = None

    @property
    def full(self) -> bool:
        return self.why in ("own", "emergency")

    def sees(self, part: str) -> bool:
        return part in self.parts


def cases_for(user: User):
    """The cases of the user's own institution (and its sites)."""
    return Case.objects.filter(access.case_q(user))


def people_served_q(user: User, prefix: str = "") -> Q:
    """The people a clinician's institution serves or was referred (or it referred), and the one an
    open emergency access names: what `core.access.people_q` lets a clinician read of the registry."""
    ids = access.rehab_org_ids(user)
    if not ids:
        return Q(pk__in=[])
    key = f"{prefix}id__in"
    return (
        Q(**{key: Case.objects.filter(institution_id__in=ids).values("person_id")})
        | Q(
            **{
                key: Transfer.objects.filter(
                    Q(from_org_id__in=ids) | Q(to_org_id__in=ids, state__in=VISIBLE_TRANSFER_STATES)
                ).values("person_id")
            }
        )
        | Q(
            **{
                key: EmergencyAccess.objects.filter(user=user, expires_at__gt=timezone.now()).values(
                    "person_id"
                )
            }
        )
    )


def emergency_grant(user: User, person_id: int) -> EmergencyAccess | None:
    if not access.policy(user).reads_clinical:
        return None
    return (
        EmergencyAccess.objects.filter(user=user, person_id=person_id, expires_at__gt=timezone.now())
        .order_by("-opened_at")
        .first()
    )


def shared_transfer(user: User, case: Case) -> Transfer | None:
    ids = access.rehab_org_ids(user)
    if not ids or not access.policy(user).reads_clinical:
        return None
    return (
        Transfer.objects.filter(case=case, to_org_id__in=ids, state__in=VISIBLE_TRANSFER_STATES)
        .order_by("-sent_on", "-id")
        .first()
    )


def case_view(user: User, pk: int) -> CaseView:
    """A case and what of it the user may see, or 404 exactly as if it did not exist."""
    case = Case.objects.select_related("person", "institution", "site", "worker").filter(pk=pk).first()
    if case is None or not access.policy(user).reads_clinical:
        raise Http404("未找到该记录。")
    if case.institution_id in access.rehab_org_ids(user):
        return CaseView(case, ALL_PARTS, "own")
    transfer = shared_transfer(user, case)
    if transfer is not None:
        return CaseView(case, frozenset(transfer.shared), "transfer", transfer)
    if emergency_grant(user, case.person_id) is not None:
        return CaseView(case, ALL_PARTS, "emergency")
    raise Http404("未找到该记录。")


def own_case(user: User, pk: int) -> Case:
    """A case the user's institution serves (for writes), or 404."""
    try:
        return cases_for(user).select_related("person", "institution").get(pk=pk)
    except (Case.DoesNotExist, ValueError, TypeError):
        raise Http404("未找到该记录。") from None


def intake_of(case: Case) -> Intake | None:
    """The case's intake interview, or None before one is held."""
    return (
        getattr(case, "intake", None)
        if Case.objects.filter(pk=case.pk, intake__isnull=False).exists()
        else None
    )


def placement_of(case: Case, pk: int) -> Placement:
    """One vocational placement of `case` (already in the user's scope), or 404."""
    return get_object_or_404(Placement, pk=pk, case=case)


def assessments_for(user: User):
    """Assessments of the cases the user's institution serves (to amend one)."""
    return Assessment.objects.filter(access.case_q(user, prefix="case__"))


def current_scales():
    """The scales in use, one version each, as offered on a case's page."""
    return Scale.objects.filter(is_current=True).order_by("code")


def current_scale(code: str) -> Scale | None:
    return Scale.objects.filter(code=code, is_current=True).first()


def applications_for(user: User):
    if not access.policy(user).rehab_intake:
        return Application.objects.none()
    return Application.objects.filter(access.people_q(user, prefix="person__"))


def application_for(user: User, pk: int) -> Application:
    """One application of a person in the user's jurisdiction, or 404 as if it did not exist."""
    return access.get_in_scope(
        Application.objects.select_related("person", "institution"), user, prefix="person__", pk=pk
    )


def rosters_for(user: User):
    """The 卫健 and 残联 rosters uploaded for the districts of the user's jurisdiction."""
    return RosterImport.objects.filter(access.district_q(user))


def region_by_code(code: str) -> Region | None:
    """The region of exactly this code (a roster names its district by its 12 digits)."""
    return Region.objects.filter(code=code).first()


def transfers_in(user: User):
    ids = access.rehab_org_ids(user)
    return Transfer.objects.filter(to_org_id__in=ids) if ids else Transfer.objects.none()


def transfers_out(user: User):
    ids = access.rehab_org_ids(user)
    return Transfer.objects.filter(from_org_id__in=ids) if ids else Transfer.objects.none()


def transfer_for(user: User, pk: int) -> Transfer:
    """A referral the user's institution sent, or one it received while it waits or once accepted
    (never after declining it); otherwise 404 as if it did not exist."""
    ids = access.rehab_org_ids(user)
    transfer = get_object_or_404(
        Transfer.objects.select_related("person", "from_org", "to_org", "case"), pk=pk
    )
    if transfer.from_org_id in ids:
        return transfer
    if transfer.to_org_id in ids and transfer.state in VISIBLE_TRANSFER_STATES:
        return transfer
    raise Http404("未找到该记录。")


def institutions_for(user: User):
    """Institutions of the register visible to the user: those in the jurisdiction, and one's own."""
    kinds = (
        OrganisationKind.REHAB_INSTITUTION,
        OrganisationKind.REHAB_SITE,
        OrganisationKind.PSYCHIATRIC_HOSPITAL,
    )
    orgs = Organisation.objects.filter(kind__in=kinds)
    region = user.jurisdiction
    q = Q(pk__in=access.rehab_org_ids(user))
    if region is not None and (access.policy(user).rehab_intake or access.policy(user).reads_rehab_stats):
        q |= Q(pk__in=[o.pk for o in orgs if region.contains(o.region_id)])
    return orgs.filter(q).select_related("region", "parent")


def referral_targets(user: User):
    """Where a referral may go: institutions, hospitals and employers of the city."""
    kinds = (
        OrganisationKind.REHAB_INSTITUTION,
        OrganisationKind.PSYCHIATRIC_HOSPITAL,
        OrganisationKind.EMPLOYER,
    )
    return Organisation.objects.filter(kind__in=kinds, is_active=True).exclude(
        pk__in=access.rehab_org_ids(user)
    )


def referral_institutions(user: User):
    """Institutions an application may be referred to: those of the user's district (a street
    officer refers to the district's institutions) or, for the city, of the city."""
    region = user.jurisdiction
    if region is None:
        return Organisation.objects.none()
    digits = min(LEVEL_DIGITS[RegionLevel(region.level)], 6)
    return Organisation.objects.filter(
        kind=OrganisationKind.REHAB_INSTITUTION, is_active=True, region__code__startswith=region.code[:digits]
    ).order_by("name")


def sites_for(user: User):
    """The service sites of the user's institution."""
    return Organisation.objects.filter(parent=access.rehab_home(user), kind=OrganisationKind.REHAB_SITE)


def case_institution_name(case_id: int) -> str | None:
    """Who serves a case, and nothing of the case itself (its content is clinical data): what a
    comparison item about a 精康 client may show."""
    return Case.objects.filter(pk=case_id).values_list("institution__name", flat=True).first()


# ------------------------------------------------------------------ worklists


def worklist(user: User) -> dict:
    """The home page of a rehab worker: what needs doing today."""
    today = timezone.localdate()
    cases = cases_for(user).select_related("person", "worker")
    mine = Q(worker=user) | Q(worker__isnull=True)
    follow_ups = cases.filter(status__in=SERVED_STATES, next_follow_up_on__lte=today + dt.timedelta(days=7))
    return {
        "today": today,
        "screening": cases.filter(status=CaseStatus.REFERRED).order_by("referred_on")[:50],
        "to_enrol": cases.filter(status=CaseStatus.SCREENED).order_by("screened_on")[:50],
        "follow_ups": follow_ups.filter(mine).order_by("next_follow_up_on")[:50],
        "follow_ups_all": follow_ups.count(),
        "overdue": cases.filter(status__in=SERVED_STATES, next_follow_up_on__lt=today).count(),
        "reviews": cases.filter(status__in=SERVED_STATES, plan_review_on__lte=today + dt.timedelta(days=14))
        .filter(mine)
        .order_by("plan_review_on")[:50],
        "incoming": transfers_in(user)
        .filter(state=TransferState.SENT)
        .select_related("person", "from_org")
        .order_by("due_on")[:50],
        "outgoing_late": transfers_out(user)
        .filter(state=TransferState.SENT, due_on__lt=today)
        .select_related("person", "to_org")[:50],
        "emergencies": emergencies_seen_by(user)[:20],
        "counts": dict(cases.values_list("status").annotate(n=Count("id")).order_by()),
    }


def emergencies_seen_by(user: User):
    """Emergency accesses to people this institution serves, shown so that it knows who looked."""
    ids = access.rehab_org_ids(user)
    if not ids:
        return EmergencyAccess.objects.none()
    people = Case.objects.filter(institution_id__in=ids).values("person_id")
    return (
        EmergencyAccess.objects.filter(person_id__in=people)
        .exclude(user__organisation_id__in=ids)
        .select_related("user", "user__organisation", "person")
    )


def intake_worklist(user: User) -> dict:
    today = timezone.localdate()
    apps = applications_for(user).select_related("person", "institution")
    return {
        "today": today,
        "received": apps.filter(state=ApplicationState.RECEIVED).order_by("check_due")[:100],
        "registered": apps.filter(state=ApplicationState.REGISTERED).order_by("refer_due")[:100],
        "late_check": apps.filter(state=ApplicationState.RECEIVED, check_due__lt=today).count(),
        "late_refer": apps.filter(state=ApplicationState.REGISTERED, refer_due__lt=today).count(),
        "registered_total": apps.filter(state=ApplicationState.REGISTERED).count(),
        "recent": apps.filter(state=ApplicationState.REFERRED).order_by("-referred_on")[:20],
    }


# ------------------------------------------------------------------ outcomes


def outcomes_of(case: Case) -> list[dict]:
    """For every scale the person was assessed on: baseline, latest, change and its meaning."""
    rows = []
    current = (
        Assessment.objects.filter(case=case, amended_by__isnull=True)
        .select_related("scale")
        .order_by("assessed_on", "id")
    )
    by_code: dict[str, list[Assessment]] = {}
    for assessment in current:
        by_code.setdefault(assessment.scale.code, []).append(assessment)
    for code, series in by_code.items():
        baseline = next((a for a in series if a.is_baseline), series[0])
        # Within the baseline's version of the scale, as the statistics count it (services.assessments._refresh_outcome).
        latest = [a for a in series if a.scale_id == baseline.scale_id][-1]
        change, result = (
            (Decimal(0), "")
            if latest.pk == baseline.pk
            else scales.compare(
                baseline.scale.definition, baseline.answers, baseline.total, latest.answers, latest.total
            )
        )
        rows.append(
            {
                "code": code,
                "name": latest.scale.name,
                "baseline": baseline,
                "latest": latest,
                "change": change,
                "outcome": result,
                "outcome_label": Outcome(result).label if result else "仅有基线",
                "series": series,
            }
        )
    return rows


# ------------------------------------------------------------------ statistics


def _stats_scope(user: User, institution: Organisation | None):
    """(Q on `institution`, Q on `district`) for the rows the user's statistics count."""
    ids = access.rehab_org_ids(user)
    if institution is not None:
        return Q(institution_id=institution.pk)
    if ids and not access.policy(user).reads_rehab_stats:
        return Q(institution_id__in=ids)
    if access.policy(user).reads_rehab_stats:
        return access.district_q(user)
    return Q(pk__in=[])


def stats(user: User, *, year: int, institution: Organisation | None = None) -> dict:
    """Everything on the statistics page, from counters and a few grouped queries (no per-row work)."""
    scope = _stats_scope(user, institution)
    by_district = institution is None and access.policy(user).reads_rehab_stats
    today = timezone.localdate()
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    months = [dt.date(year, m, 1) for m in range(1, 13)]

    counters: dict[tuple[str, str], list[int]] = {}
    for measure, key, month, n in (
        MonthlyCount.objects.filter(scope, month__gte=first, month__lte=last)
        .values_list("measure", "key", "month")
        .annotate(total=Sum("n"))
        .order_by()
    ):
        counters.setdefault((measure, key), [0] * 12)[month.month - 1] += n

    def series(measure: str, key: str | None = None) -> list[int]:
        if key is not None:
            return counters.get((measure, key), [0] * 12)
        out = [0] * 12
        for (m, _k), values in counters.items():
            if m == measure:
                out = [a + b for a, b in zip(out, values, strict=True)]
        return out

    # One pass over the cases in scope, grouped by status, gives both the status counts and the
    # follow-up figures. Counting `person_id` (never null) rather than `id` keeps the pass inside the
    # case index (district, status, dates, person), which PostgreSQL can read alone.
    recent = Q(last_service_on__gte=today - dt.timedelta(days=STANDARD_SERVICE_DAYS))
    by_status = list(
        Case.objects.filter(scope)
        .values("status")
        .annotate(
            n=Count("person_id"),
            overdue=Count("person_id", filter=Q(next_follow_up_on__lt=today)),
            due=Count(
                "person_id",
                filter=Q(next_follow_up_on__gte=today, next_follow_up_on__lte=today + dt.timedelta(days=7)),
            ),
            standard=Count("person_id", filter=recent),
        )
        .order_by()
    )
    status_counts = {row["status"]: row["n"] for row in by_status}
    follow = {
        key: sum(row[key] for row in by_status if row["status"] in SERVED_STATES)
        for key in ("overdue", "due", "standard")
    }
    registered = None
    if access.policy(user).reads_rehab_stats and institution is None:
        # Registered people: those on the rosters civil affairs received (卫健 and 残联 lists).
        registered = RegisteredPerson.objects.filter(access.district_q(user)).count()
        # Its numerator: registered people of these districts served lately, wherever they are served
        # (a served case is a person: one serving institution at a time).
        follow["covered"] = Case.objects.filter(
            access.district_q(user, field="roster_district"), recent, status__in=SERVED_STATES
        ).count()
    transfers = Transfer.objects.filter(_transfer_scope(user, institution)).aggregate(
        sent=Count("id", filter=Q(state=TransferState.SENT)),
        overdue=Count("id", filter=Q(state=TransferState.SENT, due_on__lt=today)),
        accepted=Count("id", filter=Q(state=TransferState.ACCEPTED)),
        declined=Count("id", filter=Q(state=TransferState.DECLINED)),
        completed=Count("id", filter=Q(state=TransferState.COMPLETED)),
    )
    placements = dict(
        # A placement carries its own district: a district's or city's count needs no join to cases.
        Placement.objects.filter(
            scope if by_district else _case_scope(scope),
            outcome=PlacementOutcome.ONGOING,
        )
        .values_list("employment_type")
        .annotate(n=Count("id"))
        .order_by()
    )
    outcome_rows: dict[str, dict[str, int]] = {}
    for code, result, n in (
        OutcomeCount.objects.filter(scope, n__gt=0)
        .values_list("scale_code", "outcome")
        .annotate(total=Sum("n"))
        .order_by()
    ):
        outcome_rows.setdefault(code, {o: 0 for o in Outcome.values})[result] = n
    scale_names = dict(Scale.objects.filter(is_current=True).values_list("code", "name"))

    by_type = [
        {
            "key": t.value,
            "label": t.label,
            "activities": sum(series("activities", t.value)),
            "patient_times": sum(series("patient_times", t.value)),
            "family_times": sum(series("family_times", t.value)),
        }
        for t in ServiceType
    ]
    discharged = [
        {"label": r.label, "n": sum(series("discharged", r.value))}
        for r in DischargeReason
        if sum(series("discharged", r.value))
    ]
    target = TARGETS.get(year, TARGETS[max(TARGETS)] if year > max(TARGETS) else None)
    coverage = None
    if registered and year == today.year:
        # Standard service is judged over the last 90 days, so the share exists only for today.
        coverage = round(Decimal(follow["covered"] * 100) / registered, 1)
    return {
        "year": year,
        "months": months,
        "flow": {
            "referred": series("referred"),
            "screened": series("screened"),
            "enrolled": series("enrolled"),
            "discharged": series("discharged"),
        },
        "status_counts": {s.label: status_counts.get(s.value, 0) for s in CaseStatus},
        "open_cases": sum(status_counts.get(s, 0) for s in OPEN_CASE_STATES),
        "served": sum(status_counts.get(s, 0) for s in SERVED_STATES),
        "activities": series("activities"),
        "patient_times": series("patient_times"),
        "family_times": series("family_times"),
        "by_type": by_type,
        "follow_ups_done": series("follow_ups"),
        "follow_ups_late": series("follow_ups_late"),
        "follow": follow,
        "transfers": transfers,
        "transfers_sent": series("transfers_sent"),
        "placements": placements,
        "placements_started": series("placements"),
        "discharged": discharged,
        "outcomes": [
            {"code": code, "name": scale_names.get(code, code), **values}
            for code, values in sorted(outcome_rows.items())
        ],
        "registered": registered,
        "coverage": coverage,
        "target": target,
    }


def _case_scope(scope: Q) -> Q:
    """The same scope for rows reached through their case."""
    children = []
    for child in scope.children:
        if isinstance(child, tuple):
            children.append((f"case__{child[0]}", child[1]))
        else:
            children.append(_case_scope(child))
    q = Q(*children, _connector=scope.connector, _negated=scope.negated)
    return q


def _transfer_scope(user: User, institution: Organisation | None) -> Q:
    if institution is not None:
        return Q(from_org_id=institution.pk) | Q(to_org_id=institution.pk)
    ids = access.rehab_org_ids(user)
    if ids and not access.policy(user).reads_rehab_stats:
        return Q(from_org_id__in=ids) | Q(to_org_id__in=ids)
    if access.policy(user).reads_rehab_stats:
        return access.district_q(user)
    return Q(pk__in=[])


def activities_for(user: User):
    ids = access.rehab_org_ids(user)
    return Activity.objects.filter(institution_id__in=ids) if ids else Activity.objects.none()


def photos_for(user: User):
    """Photos of the activities of the user's institution."""
    return ActivityPhoto.objects.filter(activity__in=activities_for(user))


def staff_for(user: User):
    return StaffMember.objects.filter(organisation__in=institutions_for(user))


def staff_of(orgs) -> QuerySet[StaffMember]:
    """The staff of institutions already read in the user's scope (`institutions_for`)."""
    return StaffMember.objects.filter(organisation__in=orgs)


def training_hours(staff_ids: list[int], year: int) -> dict[int, Decimal]:
    from kangfu.rehab.models import Training

    return dict(
        Training.objects.filter(staff_id__in=staff_ids, held_on__year=year)
        .values_list("staff_id")
        .annotate(h=Sum("hours"))
        .order_by()
    )


# ------------------------------------------------------------------ the registry's tab


def person_tab_context(request, person) -> dict:
    """精康 on a person's record: clinical roles see their institution's cases and what is shared with
    them; civil affairs' intake and statistics roles see only whether and where the person is served;
    other roles see nothing."""
    user = request.user
    rights = access.policy(user)
    context: dict = {"person": person, "clinical": rights.reads_clinical}
    if rights.reads_clinical:
        ids = access.rehab_org_ids(user)
        context["cases"] = Case.objects.filter(person=person, institution_id__in=ids).select_related(
            "institution"
        )
        context["shared"] = (
            Transfer.objects.filter(person=person, to_org_id__in=ids, state__in=VISIBLE_TRANSFER_STATES)
            .exclude(case=None)
            .select_related("from_org")
        )
        context["emergency"] = emergency_grant(user, person.pk)
        # Whether another institution holds a record is itself clinical: only an open emergency
        # access (audited, one person at a time) shows them.
        context["other_cases"] = (
            list(
                Case.objects.filter(person=person)
                .exclude(institution_id__in=ids)
                .select_related("institution")
            )
            if context["emergency"]
            else []
        )
    elif not (rights.rehab_intake or rights.reads_rehab_stats):
        # Whether someone receives mental-health rehabilitation is health data: a device or subsidy
        # clerk reading the same record learns nothing of it.
        context["hidden"] = True
    else:
        context["served_at"] = list(
            Case.objects.filter(person=person, status__in=OPEN_CASE_STATES)
            .select_related("institution")
            .values_list("institution__name", "status")
        )
        context["status_labels"] = dict(CaseStatus.choices)
        context["applications"] = applications_for(user).filter(person=person).order_by("-received_on")[:5]
    return context


# What the monthly comparison (matching) reads of 精康, by name: it reaches rehab only through its
# services and selectors (the import contracts in pyproject.toml).
SERVED = SERVED_STATES
DISCHARGE_DECEASED = DischargeReason.DECEASED
DISCHARGE_MOVED = DischargeReason.MOVED


def served_cases_of(person_id: int, *, outside_district: str | None = None):
    """A person's cases still served (enrolled, active, suspended), in key order; with
    `outside_district` (a 6-digit prefix) only those served elsewhere than that district."""
    cases = Case.objects.filter(person_id=person_id, status__in=SERVED_STATES)
    if outside_district:
        cases = cases.annotate(served_in=Substr("district_id", 1, 6)).exclude(served_in=outside_district)
    return cases.order_by("pk")
