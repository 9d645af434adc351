"""The demo gives 西青's rehab worker 回访 to make, 满意度 to read and plans to approve: closures of the
past year were revisited near their due dates, the rounds of the last weeks wait on the worklist,
paper survey forms were entered a few months into the service, and the site workers' plans of the
last fortnight wait for a second person."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from kangfu.core.models import User
from kangfu.core.tests.demo_world import LOADED, TODAY, load_demo
from kangfu.rehab import demo, selectors_approvals, selectors_revisits, selectors_satisfaction
from kangfu.rehab.models import Case, CaseStatus, Revisit, SatisfactionSurvey
from kangfu.rehab.services import approvals

pytestmark = pytest.mark.django_db


def test_the_demo_worker_has_revisits_due_satisfaction_and_plans_to_approve(monkeypatch):
    load_demo(monkeypatch, demo)
    assert Revisit.objects.exists()
    assert not Revisit.objects.filter(done_on__gt=TODAY).exists()
    assert not SatisfactionSurvey.objects.filter(filled_on__gt=TODAY).exists()
    worker = User.objects.get(username="xiqing.rehab")
    with time_machine.travel(LOADED, tick=False):
        due = selectors_revisits.revisits_due(worker, until=TODAY + dt.timedelta(days=14))
        summary = selectors_satisfaction.year_summary(worker, TODAY.year)
    assert due, "西青's worker has no 回访 due in the demo"
    assert summary["n"] >= 5 and summary["families"] > 0
    # 审核: the site workers' recent plans wait for 西青's rehab worker, the older ones approved.
    pending = list(selectors_approvals.pending_for(worker))
    assert pending and all(a.proposed_by_id != worker.pk for a in pending)
    assert selectors_approvals.approvals_for(worker).filter(state="approved", decided_by=worker).exists()


def test_a_discharge_xiqing_rehab_proposes_is_approved_by_the_second_demo_worker(monkeypatch):
    # The walk-through the second account exists for: proposed by one worker, approved by a colleague.
    load_demo(monkeypatch, demo)
    worker, colleague = (User.objects.get(username=u) for u in ("xiqing.rehab", "xiqing.rehab2"))
    assert colleague.organisation_id == worker.organisation_id
    case = Case.objects.filter(institution_id=worker.organisation_id, status=CaseStatus.ACTIVE).first()
    with time_machine.travel(LOADED, tick=False):
        proposal = approvals.discharge_propose(actor=worker, case=case, on=TODAY, reason="recovered")
        with pytest.raises(PermissionDenied):
            approvals.approval_approve(actor=worker, approval=proposal)
        approvals.approval_approve(actor=colleague, approval=proposal)
    case.refresh_from_db()
    assert case.status == CaseStatus.DISCHARGED
