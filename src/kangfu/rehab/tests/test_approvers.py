"""审核人 (an institution's supervisors), named by civil affairs of the district: when named, only they
decide a plan or a discharge, and the case page no longer discharges directly; the institution cannot
name its own; nobody named leaves any other worker to decide."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from kangfu.core.models import AuditAction, AuditEntry, Role
from kangfu.rehab.models import Approval, Case, CaseStatus, InstitutionProfile
from kangfu.rehab.services import approvals, institutions
from kangfu.rehab.tests import factories as f

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 2, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def colleague(institution):
    return f.worker(institution, username="colleague")


@pytest.fixture
def supervisor(institution):
    return f.worker(institution, username="supervisor")


@pytest.fixture
def profile(rehab_worker, institution):
    return institutions.institution_profile_save(
        actor=rehab_worker, organisation=institution, values={"level": "district", "capacity": 40}
    )


@pytest.fixture
def named(admin, institution, profile, supervisor):
    approvals.approvers_set(actor=admin, institution=institution, users=[supervisor])
    return supervisor


def propose(worker, case):
    return approvals.discharge_propose(actor=worker, case=case, on=dt.date(2026, 11, 20), reason="recovered")


def test_only_a_named_approver_decides(case, rehab_worker, colleague, named):
    approval = propose(rehab_worker, case)
    with pytest.raises(PermissionDenied, match="指定的审核人"):
        approvals.approval_approve(actor=colleague, approval=approval)
    assert Approval.objects.get().state == "pending"
    approvals.approval_approve(actor=named, approval=approval)
    assert Case.objects.get(pk=case.pk).status == CaseStatus.DISCHARGED


def test_a_named_approver_still_does_not_decide_their_own_proposal(case, named):
    approval = propose(named, case)
    with pytest.raises(PermissionDenied):
        approvals.approval_approve(actor=named, approval=approval)


def test_with_approvers_named_the_case_page_does_not_discharge_directly(client, case, rehab_worker, named):
    client.force_login(rehab_worker)
    response = client.post(
        reverse("rehab:case_status", args=[case.pk]),
        {
            "status-action": "discharge",
            "status-on": "2026-11-20",
            "status-reason": "recovered",
            "status-note": "",
        },
        follow=True,
    )
    assert "须经审核人（主管）审核" in response.content.decode()
    assert Case.objects.get(pk=case.pk).status == CaseStatus.ENROLLED


def test_without_approvers_any_other_worker_decides_and_the_page_discharges(case, rehab_worker, colleague):
    approvals.approval_approve(actor=colleague, approval=propose(rehab_worker, case))
    assert Case.objects.get(pk=case.pk).status == CaseStatus.DISCHARGED


def test_the_institution_cannot_name_its_own_approvers(rehab_worker, institution, profile, supervisor):
    with pytest.raises(PermissionDenied):
        approvals.approvers_set(actor=rehab_worker, institution=institution, users=[rehab_worker])
    assert not InstitutionProfile.objects.get().approvers.exists()


def test_a_street_office_does_not_name_them_even_for_an_institution_in_its_street(admin):
    local = f.institution(name="赤龙南街精康服务站", region=f.XIQING_STREET_SITE)
    worker = f.worker(local, username="local")
    institutions.institution_profile_save(
        actor=worker, organisation=local, values={"level": "street", "capacity": 20}
    )
    street = f.worker(None, username="street", role=Role.STREET_OFFICER, jurisdiction=f.XIQING_STREET_SITE)
    with pytest.raises(PermissionDenied):
        approvals.approvers_set(actor=street, institution=local, users=[worker])
    assert not InstitutionProfile.objects.get(organisation=local).approvers.exists()
    approvals.approvers_set(actor=admin, institution=local, users=[worker])
    assert list(InstitutionProfile.objects.get(organisation=local).approvers.all()) == [worker]


def test_an_approver_who_left_hands_the_decisions_back(case, rehab_worker, colleague, named):
    named.is_active = False
    named.save(update_fields=["is_active"])
    approvals.approval_approve(actor=colleague, approval=propose(rehab_worker, case))
    assert Case.objects.get(pk=case.pk).status == CaseStatus.DISCHARGED


def test_an_approver_must_be_a_worker_of_the_institution(admin, institution, profile, other_worker):
    with pytest.raises(ValidationError, match="本机构或其站点在岗"):
        approvals.approvers_set(actor=admin, institution=institution, users=[other_worker])
    assert not InstitutionProfile.objects.get().approvers.exists()


def test_the_district_names_them_on_the_institution_page_and_it_is_audited(
    client, admin, institution, profile, supervisor, rehab_worker
):
    url = reverse("rehab:institution", args=[institution.pk])
    client.force_login(rehab_worker)
    assert "指定审核人" not in client.get(url).content.decode()
    assert client.post(url, {"action": "approvers", "approvers": [rehab_worker.pk]}).status_code == 403
    client.force_login(admin)
    assert "指定审核人" in client.get(url).content.decode()
    assert client.post(url, {"action": "approvers", "approvers": [supervisor.pk]}).status_code == 302
    assert list(InstitutionProfile.objects.get().approvers.all()) == [supervisor]
    entry = AuditEntry.objects.filter(action=AuditAction.UPDATE, summary__startswith="指定").get()
    assert entry.changes == {"approvers": [[], ["supervisor"]]}
