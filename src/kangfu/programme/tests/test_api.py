"""The programme's API: the same services and scope as the pages; refusals are 400/403/404/409 with a
Chinese message, never a 500, and nothing is half-saved."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from kangfu.core.services import api_token_create
from kangfu.programme.models import Contract, Fund, PaymentRequest, PaymentStatus, Visit
from kangfu.programme.tests import factories as pf

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client):
    def as_user(user):
        token = api_token_create(actor=None, user=user, name="测试")

        def call(method, path, payload=None):
            kwargs = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
            if payload is not None:
                kwargs.update(data=json.dumps(payload, default=str), content_type="application/json")
            return getattr(client, method)(f"/api/v1/programme{path}", **kwargs)

        return call

    return as_user


def _contract_payload(fund, institution, **overrides):
    return {
        "title": "社交能力训练项目",
        "institution_id": institution.pk,
        "fund_id": fund.pk,
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
        "amount": "200000.00",
        "service_types": ["social"],
        "sessions": 10,
        **overrides,
    }


def test_a_contract_is_signed_and_read_back_with_its_months(api, admin, fund, institution):
    call = api(admin)
    response = call("post", "/contracts", _contract_payload(fund, institution))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["amount"], body["contracted"]["sessions"], len(body["months"])) == ("200000.00", 10, 12)
    assert body["delivered"]["sessions"] == 0
    listed = call("get", "/contracts").json()
    assert [c["number"] for c in listed["items"]] == [body["number"]]


def test_a_contract_above_the_fund_is_a_400_and_saves_nothing(api, admin, fund, institution):
    response = api(admin)("post", "/contracts", _contract_payload(fund, institution, amount="500000.01"))
    assert response.status_code == 400
    assert "未分配余额 500,000.00 元" in response.json()["errors"]["amount"][0]
    assert not Contract.objects.exists()
    assert Fund.objects.get().allocated == 0


def test_a_forged_contract_on_another_districts_fund_is_not_found(api, outsider, fund, institution):
    response = api(outsider)("post", "/contracts", _contract_payload(fund, institution))
    assert response.status_code in (400, 404)
    assert not Contract.objects.exists()


def test_payment_flow_refusals_and_a_double_approval(api, admin, colleague, worker, outsider, contract):
    undelivered = pf.milestone(admin, contract, sessions=3)
    response = api(worker)("post", f"/milestones/{undelivered.pk}/payment-requests")
    assert response.status_code == 400
    assert response.json()["detail"] == "付款节点要求的服务量尚未完成：服务场次要求 3，已完成 0。"

    milestone = pf.milestone(admin, contract, name="二期", amount="50000.00")
    assert api(outsider)("post", f"/milestones/{milestone.pk}/payment-requests").status_code == 404
    created = api(worker)("post", f"/milestones/{milestone.pk}/payment-requests")
    assert created.status_code == 201
    again = api(worker)("post", f"/milestones/{milestone.pk}/payment-requests")
    assert again.status_code == 409

    payment_id = created.json()["id"]
    assert api(outsider)("post", f"/payments/{payment_id}/approve", {}).status_code == 404
    assert api(worker)("post", f"/payments/{payment_id}/approve", {}).status_code == 403
    assert api(colleague)("post", f"/payments/{payment_id}/approve", {"note": "同意"}).status_code == 200
    assert api(colleague)("post", f"/payments/{payment_id}/approve", {}).status_code == 409
    assert PaymentRequest.objects.get().status == PaymentStatus.APPROVED
    assert Contract.objects.get().paid == Decimal("50000.00")


def test_money_past_the_fen_is_refused(api, admin):
    response = api(admin)(
        "post", "/funds", {"region": "120111000000", "source": "charity", "year": 2026, "amount": "10.005"}
    )
    assert response.status_code in (400, 422)
    assert not Fund.objects.exists()


def test_an_institutions_worker_reads_contracts_but_not_funds(api, worker, contract):
    call = api(worker)
    assert call("get", "/funds").status_code == 403
    assert call("get", f"/contracts/{contract.pk}").status_code == 200


def test_a_visit_is_recorded_answered_and_verified_through_the_api(
    api, admin, city_admin, worker, outsider, institution
):
    version = pf.checklist(city_admin).versions.get()
    items = list(version.items.order_by("seq"))
    payload = {
        "institution_id": institution.pk,
        "checklist_version_id": version.pk,
        "year": 2026,
        "quarter": 4,
        "visited_on": "2026-11-16",
        "team": "督导组",
        "scores": {str(items[0].pk): "10", str(items[1].pk): "20", str(items[2].pk): "5.5"},
        "findings": [{"text": "档案不全", "deadline": "2026-12-31", "owner": "王主任"}],
    }
    refused = api(admin)("post", "/visits", payload)
    assert refused.status_code == 400
    assert refused.json()["errors"]["scores"] == ["“工作人员培训”的得分 5.5 不在 0.0–5.0 分之间。"]
    assert not Visit.objects.exists()

    payload["scores"][str(items[2].pk)] = "5"
    created = api(admin)("post", "/visits", payload)
    assert created.status_code == 201
    assert created.json()["score"] == "100.0"
    finding_id = created.json()["findings"][0]["id"]
    assert api(outsider)("post", f"/findings/{finding_id}/answer", {"answer": "x"}).status_code == 404
    assert api(worker)("post", f"/findings/{finding_id}/answer", {"answer": "已补全"}).status_code == 200
    assert api(worker)("post", f"/findings/{finding_id}/answer", {"answer": "again"}).status_code == 409
    verified = api(admin)("post", f"/findings/{finding_id}/verify", {"accepted": True})
    assert verified.json()["findings"][0]["status"] == "verified"
    assert [v["id"] for v in api(worker)("get", "/visits").json()["items"]] == [created.json()["id"]]
    assert api(outsider)("get", "/visits").json()["count"] == 0
