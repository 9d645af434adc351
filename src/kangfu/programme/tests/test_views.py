"""The programme's pages: one table of URL × user → status walked by one test, the list pages' query
counts pinned, and bad or forged input answered with a message, never a 500 and never half-saved."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kangfu.core.tests import files
from kangfu.programme.models import Contract, Finding, Fund, Milestone, PaymentRequest, PaymentStatus, Visit
from kangfu.programme.services import supervision
from kangfu.programme.tests import factories as pf

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(admin, colleague, outsider, worker, street_officer, city_admin, contract):
    milestone = pf.milestone(admin, contract)
    payment = pf.contracts.payment_request(actor=worker, milestone=milestone)
    checklist = pf.checklist(city_admin)
    version = checklist.versions.get()
    visit = pf.visit(admin, contract.institution, version)
    photo = supervision.finding_photo_add(
        actor=admin,
        finding=visit.findings.get(),
        image=SimpleUploadedFile("a.png", files.PNG),
        caption="现场",
    )
    expert = pf.expert(admin, region=pf.f.XIQING)
    return {
        "standard": pf.shipped_standard(),
        "expert": expert,
        "training": pf.training(admin, [expert]),
        "photo": photo,
        "city": city_admin,
        "checklist": checklist,
        "version": version,
        "visit": visit,
        "finding": visit.findings.get(),
        "admin": admin,
        "colleague": colleague,
        "outsider": outsider,
        "worker": worker,
        "street": street_officer,
        "contract": contract,
        "fund": contract.fund,
        "milestone": milestone,
        "payment": payment,
    }


# (url, {user: expected status}); every GET page of the app has a row.
PAGES = [
    ("/programme/", {"admin": 200, "worker": 200, "outsider": 200, "street": 403}),
    ("/programme/contracts/new/", {"admin": 200, "worker": 403, "outsider": 200, "street": 403}),
    ("/programme/contracts/{contract}/", {"admin": 200, "worker": 200, "outsider": 404, "street": 403}),
    ("/programme/funds/", {"admin": 200, "worker": 403, "outsider": 200, "street": 403}),
    ("/programme/funds/new/", {"admin": 200, "worker": 403, "outsider": 200, "street": 403}),
    ("/programme/funds/{fund}/", {"admin": 200, "worker": 403, "outsider": 404, "street": 403}),
    ("/programme/payments/", {"admin": 200, "worker": 200, "outsider": 200, "street": 403}),
    ("/programme/payments/{payment}/", {"admin": 200, "worker": 200, "outsider": 404, "street": 403}),
    ("/programme/visits/", {"admin": 200, "worker": 200, "outsider": 200, "street": 403}),
    ("/programme/visits/new/{version}/", {"admin": 200, "worker": 403, "outsider": 200, "street": 403}),
    ("/programme/visits/{visit}/", {"admin": 200, "worker": 200, "outsider": 404, "street": 403}),
    ("/programme/checklists/", {"admin": 200, "city": 200, "worker": 403, "street": 403}),
    ("/programme/checklists/new/", {"admin": 403, "city": 200, "worker": 403, "street": 403}),
    ("/programme/checklists/{checklist}/", {"admin": 200, "city": 200, "worker": 403, "street": 403}),
    ("/programme/photos/{photo}/", {"admin": 200, "worker": 200, "outsider": 404, "street": 403}),
    ("/programme/assessment/", {"admin": 200, "city": 200, "worker": 403, "street": 403}),
    ("/programme/standards/", {"admin": 200, "city": 200, "worker": 403, "street": 403}),
    ("/programme/standards/new/", {"admin": 403, "city": 200, "worker": 403, "street": 403}),
    ("/programme/standards/{standard}/", {"admin": 200, "city": 200, "worker": 403, "street": 403}),
    (
        "/programme/contracts/{contract}/acceptance/",
        {"admin": 200, "worker": 403, "outsider": 404, "street": 403},
    ),
    ("/programme/experts/", {"admin": 200, "worker": 403, "outsider": 200, "street": 403}),
    ("/programme/experts/new/", {"admin": 200, "worker": 403, "outsider": 200, "street": 403}),
    (
        "/programme/experts/{expert}/",
        {"admin": 200, "city": 200, "worker": 403, "outsider": 404, "street": 403},
    ),
    ("/programme/trainings/", {"admin": 200, "worker": 200, "outsider": 200, "street": 403}),
    ("/programme/trainings/new/", {"admin": 200, "worker": 403, "outsider": 200, "street": 403}),
    # The institution sees a training once its staff attended one: none here.
    (
        "/programme/trainings/{training}/",
        {"admin": 200, "city": 200, "worker": 404, "outsider": 404, "street": 403},
    ),
]


def test_every_page_answers_each_user_as_the_table_says(client, world):
    keys = (
        "contract",
        "fund",
        "payment",
        "version",
        "visit",
        "checklist",
        "photo",
        "standard",
        "expert",
        "training",
    )
    ids = {k: world[k].pk for k in keys}
    for url, expected in PAGES:
        for who, status in expected.items():
            client.force_login(world[who])
            response = client.get(url.format(**ids))
            assert response.status_code == status, (url, who, response.status_code)


def test_every_url_of_the_app_has_a_row_in_the_table():
    from kangfu.programme import urls

    get_pages = {"contracts", "contract_new", "contract", "funds", "fund_new", "fund", "payments", "payment"}
    get_pages |= {"visits", "visit_new", "visit", "checklists", "checklist_new", "checklist", "finding_photo"}
    get_pages |= {"assessment", "standards", "standard_new", "standard", "acceptance_new"}
    get_pages |= {"experts", "expert_new", "expert", "trainings", "training_new", "training"}
    posts = {"milestone_new", "milestone_request", "fund_adjust", "payment_approve", "payment_reject"}
    posts |= {"finding_answer", "finding_verify", "finding_reopen", "checklist_revise", "finding_photo_add"}
    posts |= {
        "standard_revise",
        "acceptance_confirm",
        "acceptance_return",
        "expert_window_add",
        "training_attendance",
    }
    assert {p.name for p in urls.urlpatterns} == get_pages | posts
    assert len(PAGES) == len(get_pages)


def test_the_contract_page_shows_contracted_against_delivered_by_month(client, world):
    client.force_login(world["worker"])
    response = client.get(f"/programme/contracts/{world['contract'].pk}/")
    body = response.content.decode()
    assert "2026年11月" in body and "2026年1月" in body
    assert "社交能力训练、生活技能训练" in body
    assert "300,000.00" in body


@pytest.mark.parametrize(
    ("url", "user", "n"),
    [
        # session (read; written once a minute at most), user with jurisdiction and organisation, count, rows
        # and, for contracts, one read each of the counters, of training and of the contracts' sites for
        # the whole page: never one per row
        ("/programme/", "admin", 7),
        ("/programme/funds/", "admin", 5),
        ("/programme/payments/", "admin", 4),
        ("/programme/visits/", "admin", 4),
    ],
)
def test_list_pages_cost_a_fixed_number_of_queries(client, world, admin, fund, institution, url, user, n):
    for i in range(4):
        pf.contract(admin, fund, institution, amount="1000.00", title=f"合同{i}")
        pf.fund(admin, name=f"资金{i}")
    client.force_login(world[user])
    client.get(url, HTTP_HX_REQUEST="true")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert len(queries) == n, "\n".join(q["sql"][:150] for q in queries.captured_queries)


def test_a_contract_above_the_fund_is_refused_on_the_page_with_its_message(client, admin, fund, institution):
    client.force_login(admin)
    response = client.post(
        "/programme/contracts/new/",
        {
            "title": "超额合同",
            "institution": institution.pk,
            "fund": fund.pk,
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
            "amount": "500000.01",
            "service_types": ["social"],
            "people": 1,
            "sessions": 1,
            "people_times": 1,
            "follow_ups": 1,
            "staff_trained": 0,
        },
    )
    assert response.status_code == 400
    assert "超过资金“精康服务福彩公益金”的未分配余额 500,000.00 元" in response.content.decode()
    assert not Contract.objects.exists()


def test_a_contract_is_signed_from_the_page(client, admin, fund, institution, site):
    client.force_login(admin)
    response = client.post(
        "/programme/contracts/new/",
        {
            "title": "生活技能训练项目",
            "institution": institution.pk,
            "fund": fund.pk,
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
            "amount": "120000.50",
            "service_types": ["living", "vocational"],
            "sites": [site.pk],
            "people": 10,
            "sessions": 40,
            "people_times": 200,
            "follow_ups": 40,
            "staff_trained": 3,
        },
    )
    contract = Contract.objects.get()
    assert response.status_code == 302
    assert (contract.amount, contract.service_types) == (Decimal("120000.50"), ["living", "vocational"])
    assert list(contract.sites.all()) == [site]
    assert Fund.objects.get().allocated == Decimal("120000.50")


def test_an_undelivered_milestone_cannot_be_requested_from_the_page(client, admin, worker, contract):
    milestone = pf.milestone(admin, contract, sessions=5)
    client.force_login(worker)
    response = client.post(f"/programme/milestones/{milestone.pk}/request/", follow=True)
    assert response.status_code == 200
    assert "付款节点要求的服务量尚未完成：服务场次要求 5，已完成 0。" in response.content.decode()
    assert not PaymentRequest.objects.exists()


def test_a_forged_request_for_another_districts_milestone_is_not_found(client, world):
    client.force_login(world["outsider"])
    for url in (
        f"/programme/milestones/{world['milestone'].pk}/request/",
        f"/programme/payments/{world['payment'].pk}/approve/",
        f"/programme/payments/{world['payment'].pk}/reject/",
        f"/programme/contracts/{world['contract'].pk}/milestones/",
        f"/programme/funds/{world['fund'].pk}/adjust/",
        f"/programme/findings/{world['finding'].pk}/answer/",
        f"/programme/findings/{world['finding'].pk}/verify/",
        f"/programme/findings/{world['finding'].pk}/reopen/",
        f"/programme/findings/{world['finding'].pk}/photos/",
    ):
        assert (
            client.post(url, {"note": "x", "name": "x", "amount": "1", "direction": "add"}).status_code == 404
        )
    assert PaymentRequest.objects.get().status == PaymentStatus.PENDING
    assert Milestone.objects.count() == 1


def test_the_requester_cannot_approve_and_a_colleague_can_once(client, world):
    payment = world["payment"]
    client.force_login(world["worker"])
    assert client.post(f"/programme/payments/{payment.pk}/approve/").status_code == 403
    client.force_login(world["colleague"])
    first = client.post(f"/programme/payments/{payment.pk}/approve/", {"note": ""}, follow=True)
    second = client.post(f"/programme/payments/{payment.pk}/approve/", {"note": ""}, follow=True)
    assert "已批准付款 100,000.00 元。" in first.content.decode()
    assert "该付款申请已审批，或刚被他人处理。" in second.content.decode()
    assert Contract.objects.get().paid == Decimal("100000.00")


def test_an_administrator_who_requested_may_not_approve_their_own(client, admin, colleague, contract):
    milestone = pf.milestone(admin, contract)
    client.force_login(admin)
    client.post(f"/programme/milestones/{milestone.pk}/request/")
    payment = PaymentRequest.objects.get()
    response = client.post(f"/programme/payments/{payment.pk}/approve/", follow=True)
    assert "提交人不能审批自己提交的事项（职责分离）。" in response.content.decode()
    assert PaymentRequest.objects.get().status == PaymentStatus.PENDING


def test_bad_numbers_on_the_fund_form_are_messages_not_errors(client, admin):
    client.force_login(admin)
    for amount in ("abc", "-5", "1.001", "1e400", "99999999999999999"):
        response = client.post(
            "/programme/funds/new/",
            {"region": "120111000000", "source": "charity", "year": 2026, "name": "慈善", "amount": amount},
        )
        assert response.status_code == 400, amount
    assert not Fund.objects.exists()


def test_a_fund_reduced_below_its_contracts_keeps_its_money(client, admin, contract):
    client.force_login(admin)
    response = client.post(
        f"/programme/funds/{contract.fund_id}/adjust/",
        {"direction": "reduce", "amount": "200000.01", "note": "调减"},
    )
    assert response.status_code == 400
    assert "调减后到位金额不能低于已分配给合同的 300,000.00 元" in response.content.decode()
    assert Fund.objects.get().amount == Decimal("500000.00")


def test_a_visit_is_recorded_from_the_page_and_a_score_out_of_range_is_a_message(
    client, admin, city_admin, institution
):
    version = pf.checklist(city_admin).versions.get()
    items = list(version.items.order_by("seq"))
    form = {
        "institution": institution.pk,
        "year": 2026,
        "quarter": 4,
        "visited_on": "2026-11-16",
        "team": "督导组",
        "findings": "个案档案不全|2026-12-31|王主任",
        **{f"score_{i.pk}": "5" for i in items},
    }
    client.force_login(admin)
    bad = client.post(f"/programme/visits/new/{version.pk}/", {**form, f"score_{items[2].pk}": "6"})
    assert bad.status_code == 400
    assert "“工作人员培训”的得分 6 不在 0.0–5.0 分之间。" in bad.content.decode()
    assert not Visit.objects.exists()
    good = client.post(f"/programme/visits/new/{version.pk}/", form)
    assert good.status_code == 302
    assert Visit.objects.get().findings.get().owner == "王主任"


def test_the_institution_answers_its_finding_on_the_page(client, world):
    client.force_login(world["worker"])
    response = client.post(
        f"/programme/findings/{world['finding'].pk}/answer/", {"answer": "已整改"}, follow=True
    )
    assert "已报告整改情况" in response.content.decode()
    client.force_login(world["admin"])
    client.post(f"/programme/findings/{world['finding'].pk}/verify/", {"note": ""})
    assert Finding.objects.get().status == "verified"


def test_the_institution_adds_a_photo_of_its_rectification_and_a_non_image_is_refused(client, world):
    client.force_login(world["worker"])
    url = f"/programme/findings/{world['finding'].pk}/photos/"
    refused = client.post(
        url, {"image": SimpleUploadedFile("a.png", b"not an image"), "caption": "x"}, follow=True
    )
    assert refused.status_code == 200
    assert world["finding"].photos.count() == 1
    client.post(url, {"image": SimpleUploadedFile("b.png", files.PNG), "caption": "整改后"})
    assert list(world["finding"].photos.values_list("caption", flat=True)) == ["现场", "整改后"]
    page = client.get(f"/programme/visits/{world['visit'].pk}/").content.decode()
    assert page.count("/programme/photos/") == 2
