"""Every write about a person leaves an audit row naming them."""

from __future__ import annotations

import pytest

from kangfu.core.models import AuditEntry
from kangfu.rehab.models import TransferKind
from kangfu.rehab.services import (
    applications,
    assessments,
    cases,
    emergency,
    enrolment,
    placements,
    plans,
    transfers,
)
from kangfu.rehab.tests import factories as f
from kangfu.rehab.tests.services.helpers import (
    TODAY,
    URGENT,
    activity,
    apply,
    assess,
    enrolment_data,
    follow,
    placement_data,
    plan_data,
    sdss_answers,
    send,
)

pytestmark = pytest.mark.django_db


class TestAudit:
    def test_every_write_about_a_person_leaves_an_audit_row_naming_them(
        self, admin, rehab_worker, other_worker, institution, other_institution, doctor, employer
    ):
        person = f.patient()
        missing: list[str] = []

        def audited(label, call):
            last = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
            result = call()
            if not AuditEntry.objects.filter(id__gt=last, person_id=person.pk).exists():
                missing.append(label)
            return result

        application = audited("application_create", lambda: apply(admin, person))
        audited(
            "application_register",
            lambda: applications.application_register(actor=admin, application=application),
        )
        application.refresh_from_db()
        case = audited(
            "application_refer",
            lambda: applications.application_refer(
                actor=admin, application=application, institution=institution
            ),
        )
        audited(
            "screening_contact",
            lambda: enrolment.screening_contact(
                actor=rehab_worker, case=case, data=enrolment.ContactData(contacted_on=TODAY, mode="phone")
            ),
        )
        case = audited(
            "screening_decide",
            lambda: enrolment.screening_decide(actor=rehab_worker, case=case, eligible=True, on=TODAY),
        )
        case = audited(
            "case_enrol", lambda: enrolment.case_enrol(actor=rehab_worker, case=case, data=enrolment_data())
        )
        audited(
            "intake_save",
            lambda: enrolment.intake_save(
                actor=rehab_worker,
                case=case,
                values={
                    "interviewed_on": TODAY,
                    "mental_health": "平稳",
                    "physical_health": "良好",
                    "family_structure": "与父母同住",
                    "living_environment": "楼房",
                    "growth_history": "略",
                    "interests": "书法",
                },
            ),
        )
        audited(
            "registration_update",
            lambda: enrolment.registration_update(
                actor=rehab_worker, case=case, values={"medication": "利培酮"}, expected_version=case.version
            ),
        )
        original = audited("assessment_submit", lambda: assess(rehab_worker, case, sdss_answers()))
        audited(
            "assessment_amend",
            lambda: assessments.assessment_amend(
                actor=rehab_worker, original=original, answers=sdss_answers(0), reason="录错"
            ),
        )
        audited("plan_create", lambda: plans.plan_create(actor=rehab_worker, case=case, data=plan_data()))
        audited("activity_record", lambda: activity(rehab_worker, [case.pk]))
        audited("follow_up_record", lambda: follow(rehab_worker, case))
        job = send(
            rehab_worker, case=case, to=employer, kind=TransferKind.TO_EMPLOYMENT, employment_type="open"
        )
        audited(
            "transfer_decline",
            lambda: transfers.transfer_decline(actor=rehab_worker, transfer=job, reason="岗位已满"),
        )
        back = send(doctor, person=person, to=institution, kind=TransferKind.HOSPITAL_TO_COMMUNITY)
        audited("transfer_cancel", lambda: transfers.transfer_cancel(actor=doctor, transfer=back))
        audited(
            "placement_save",
            lambda: placements.placement_save(actor=rehab_worker, case=case, data=placement_data()),
        )
        audited(
            "emergency_open",
            lambda: emergency.emergency_open(actor=doctor, person=person, reason=URGENT),
        )
        audited(
            "case_suspend",
            lambda: cases.case_suspend(actor=rehab_worker, case=case, on=TODAY, reason="住院"),
        )
        audited("case_resume", lambda: cases.case_resume(actor=rehab_worker, case=case, on=TODAY))
        # Last, since completing a transfer between institutions discharges the sender's case.
        transfer = audited(
            "transfer_send",
            lambda: send(
                rehab_worker, case=case, to=other_institution, kind=TransferKind.BETWEEN_INSTITUTIONS
            ),
        )
        audited("transfer_accept", lambda: transfers.transfer_accept(actor=other_worker, transfer=transfer))
        transfer.refresh_from_db()
        received = transfer.received_case
        enrolment.screening_decide(actor=other_worker, case=received, eligible=True, on=TODAY)
        received.refresh_from_db()
        audited(
            "transfer completed by the receiver's enrolment",
            lambda: enrolment.case_enrol(actor=other_worker, case=received, data=enrolment_data()),
        )
        case.refresh_from_db()
        assert case.discharge_reason == "transferred"
        assert missing == []
