"""审核: a plan or a discharge put forward by one worker is decided by another of the institution,
never by the proposer; a proposed discharge takes effect only when approved, and a double approval
has one effect (409 in the API)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from kangfu.core.transitions import Conflict
from kangfu.rehab.models import Approval, Case, CaseEvent, CaseStatus
from kangfu.rehab.services import approvals, plans
from kangfu.rehab.tests import factories as f
from kangfu.rehab.tests.services.helpers import plan_data

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 2, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 23)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def colleague(institution):
    return f.worker(institution, username="supervisor")


def propose(worker, case, on=dt.date(2026, 11, 20)):
    return approvals.discharge_propose(actor=worker, case=case, on=on, reason="recovered", note="回归社会")


class TestDischarge:
    def test_the_case_stays_open_until_a_colleague_approves(self, case, rehab_worker, colleague):
        approval = propose(rehab_worker, case)
        assert Case.objects.get(pk=case.pk).status == CaseStatus.ENROLLED
        approvals.approval_approve(actor=colleague, approval=approval)
        closed = Case.objects.get(pk=case.pk)
        assert (closed.status, closed.discharged_on, closed.discharge_reason) == (
            CaseStatus.DISCHARGED,
            dt.date(2026, 11, 20),
            "recovered",
        )
        assert Approval.objects.get().decided_by == colleague

    def test_the_proposer_cannot_approve_their_own_proposal(self, case, rehab_worker):
        approval = propose(rehab_worker, case)
        with pytest.raises(PermissionDenied):
            approvals.approval_approve(actor=rehab_worker, approval=approval)
        assert Approval.objects.get().state == "pending"
        assert Case.objects.get(pk=case.pk).status == CaseStatus.ENROLLED

    def test_a_second_approval_changes_nothing(self, case, rehab_worker, colleague):
        approval = propose(rehab_worker, case)
        approvals.approval_approve(actor=colleague, approval=approval)
        with pytest.raises(Conflict):
            approvals.approval_approve(actor=colleague, approval=approval)
        assert CaseEvent.objects.filter(case=case, status=CaseStatus.DISCHARGED).count() == 1

    def test_one_proposal_waits_at_a_time_and_a_return_needs_a_reason(self, case, rehab_worker, colleague):
        approval = propose(rehab_worker, case)
        with pytest.raises(ValidationError, match="已有待审核的结案"):
            propose(rehab_worker, case)
        with pytest.raises(ValidationError):
            approvals.approval_return(actor=colleague, approval=approval, note=" ")
        approvals.approval_return(actor=colleague, approval=approval, note="还需一次阶段评估")
        assert Case.objects.get(pk=case.pk).status == CaseStatus.ENROLLED
        propose(rehab_worker, case)
        assert list(Approval.objects.order_by("id").values_list("state", flat=True)) == [
            "returned",
            "pending",
        ]

    def test_another_institution_cannot_decide(self, case, rehab_worker, other_worker):
        approval = propose(rehab_worker, case)
        with pytest.raises(PermissionDenied):
            approvals.approval_approve(actor=other_worker, approval=approval)
        assert Approval.objects.get().state == "pending"


class TestPlan:
    def test_the_author_of_the_plan_does_not_approve_it(self, case, rehab_worker, colleague):
        plans.plan_create(actor=rehab_worker, case=case, data=plan_data())
        approval = approvals.plan_submit(actor=rehab_worker, case=case)
        with pytest.raises(PermissionDenied):
            approvals.approval_approve(actor=rehab_worker, approval=approval)
        approvals.approval_approve(actor=colleague, approval=approval, note="目标具体可行")
        with pytest.raises(ValidationError, match="已经审核通过"):
            approvals.plan_submit(actor=rehab_worker, case=case)

    def test_no_plan_no_submission(self, case, rehab_worker):
        with pytest.raises(ValidationError, match=approvals.NO_PLAN):
            approvals.plan_submit(actor=rehab_worker, case=case)
        assert not Approval.objects.exists()


class TestPages:
    def test_a_worker_proposes_and_a_colleague_approves_in_the_pages(
        self, client, case, rehab_worker, colleague
    ):
        client.force_login(rehab_worker)
        url = reverse("rehab:case_approvals", args=[case.pk])
        assert client.get(url).status_code == 200
        form = {"action": "discharge", "on": "2026-11-20", "reason": "recovered", "note": "回归社会"}
        assert client.post(url, form).status_code == 302
        page = client.get(reverse("rehab:approvals")).content.decode()
        assert "本人提交，由他人审核" in page
        approval = Approval.objects.get()
        client.post(reverse("rehab:approval_decide", args=[approval.pk]), {"action": "approve"})
        assert Case.objects.get(pk=case.pk).status == CaseStatus.ENROLLED
        client.force_login(colleague)
        assert case.person.name in client.get(reverse("rehab:approvals")).content.decode()
        client.post(reverse("rehab:approval_decide", args=[approval.pk]), {"action": "approve"})
        assert Case.objects.get(pk=case.pk).status == CaseStatus.DISCHARGED

    def test_a_proposal_without_a_reason_is_refused_in_chinese(self, client, case, rehab_worker):
        client.force_login(rehab_worker)
        url = reverse("rehab:case_approvals", args=[case.pk])
        response = client.post(url, {"action": "discharge", "on": "2026-11-20", "reason": ""})
        assert response.status_code == 400 and "请填写此项" in response.content.decode()
        assert not Approval.objects.exists()

    def test_the_api_refuses_the_proposer_approves_once_then_answers_409(
        self, api, case, rehab_worker, colleague
    ):
        approval = propose(rehab_worker, case)
        assert api(rehab_worker)("post", f"/approvals/{approval.pk}/approve", {}).status_code == 403
        call = api(colleague)
        first = call("post", f"/approvals/{approval.pk}/approve", {"note": ""})
        assert first.status_code == 200 and first.json()["case_status"] == "discharged"
        assert call("post", f"/approvals/{approval.pk}/approve", {"note": ""}).status_code == 409
        assert CaseEvent.objects.filter(case=case, status=CaseStatus.DISCHARGED).count() == 1
