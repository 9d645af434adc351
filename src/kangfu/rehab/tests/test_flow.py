"""One person's way through the service, at the service level: the states and counters it leaves."""

import datetime as dt

from kangfu.rehab.models import Case, CaseOutcome, CaseStatus, MonthlyCount, ServiceType
from kangfu.rehab.services import activities, assessments, plans


def test_a_person_goes_from_application_to_an_improved_reassessment(case, rehab_worker):
    today = dt.date.today()
    assert case.status == CaseStatus.ENROLLED
    sdss = assessments.current_scale("sdss")
    answers = {item["key"]: 1 for item in sdss.definition["items"]}
    answers["marriage"] = 9  # unmarried: not applicable, left out of the total
    baseline = assessments.assessment_submit(
        actor=rehab_worker, case=case, scale=sdss, assessed_on=today, answers=answers
    )
    assert baseline.total == 9 and baseline.is_baseline and baseline.band == "deficit"
    plans.plan_create(
        actor=rehab_worker,
        case=case,
        data=plans.PlanData(
            starts_on=today,
            review_on=today + dt.timedelta(days=90),
            summary="恢复社会交往",
            goals=[{"problem": "社会性退缩", "goal": "每周参加一次小组活动"}],
            services=[{"service_type": ServiceType.SOCIAL, "times": 1, "per": "week", "place": "site"}],
        ),
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.ACTIVE
    activities.activity_record(
        actor=rehab_worker,
        data=activities.ActivityData(
            form="group",
            service_type=ServiceType.SOCIAL,
            mode="site",
            title="社交小组",
            held_on=today,
            patients=[case.pk],
            family=[{"case": case.pk, "name": "母亲", "relation": "母亲"}],
        ),
    )
    better = {**answers, "withdrawal": 0, "interest": 0, "work": 0}
    assessments.assessment_submit(
        actor=rehab_worker, case=case, scale=sdss, assessed_on=today, answers=better
    )
    outcome = CaseOutcome.objects.get(case=case, scale_code="sdss")
    assert outcome.outcome == "improved"
    counts = {(c.measure, c.key): c.n for c in MonthlyCount.objects.filter(institution=case.institution)}
    assert counts[("patient_times", "social")] == 1 and counts[("family_times", "social")] == 1
    assert counts[("enrolled", "")] == 1
    assert Case.objects.get(pk=case.pk).last_service_on == today
