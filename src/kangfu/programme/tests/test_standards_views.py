"""The standards' pages and a contract's acceptance in the browser's terms (pages and the API): the
city revises a standard, a district scores an ended contract and a colleague confirms it, a bad score
comes back with its message; the standards' list costs the same statements whatever its length."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kangfu.core.services import api_token_create
from kangfu.core.tests.querycount import at_two_sizes
from kangfu.programme.models import Acceptance, AcceptanceStatus, Standard
from kangfu.programme.services import standards as svc
from kangfu.programme.standards import ACCEPTANCE_CODE, ASSESSMENT_CODE
from kangfu.programme.tests import factories as pf

pytestmark = pytest.mark.django_db


@pytest.fixture
def ended(admin, fund, institution):
    return pf.contract(admin, fund, institution, ends_on=dt.date(2026, 11, 20), title="已到期的服务项目")


def _scored_items():
    version = Standard.objects.get(code=ACCEPTANCE_CODE).versions.get(is_current=True)
    return version, list(version.items.filter(indicator="").order_by("seq"))


def test_the_city_revises_the_assessment_standard_for_next_year_from_its_page(client, city_admin):
    standard = Standard.objects.get(code=ASSESSMENT_CODE)
    client.force_login(city_admin)
    page = client.get(f"/programme/standards/{standard.pk}/")
    assert "督导平均得分" in page.content.decode() and "自 2020 年度起用" in page.content.decode()
    bad = client.post(
        f"/programme/standards/{standard.pk}/revise/",
        {"items": "delivery|合同服务量完成率|0|100|30", "year_from": "2025"},
    )
    assert bad.status_code == 400
    assert svc.YEAR_CLOSED.format(year=2026) in bad.content.decode()
    good = client.post(
        f"/programme/standards/{standard.pk}/revise/",
        {
            "items": "delivery|合同服务量完成率|0|100|60\nsupervision|督导平均得分|0|100|40",
            "year_from": "2027",
        },
        follow=True,
    )
    assert "已保存，现行为第 2 版" in good.content.decode()
    assert standard.versions.count() == 2


def test_a_district_may_read_the_standards_but_not_write_them(client, admin):
    client.force_login(admin)
    assert client.get("/programme/standards/").status_code == 200
    assert client.get("/programme/standards/new/").status_code == 403


def test_a_contract_is_accepted_from_its_page_and_confirmed_by_a_colleague(client, admin, colleague, ended):
    version, items = _scored_items()
    client.force_login(admin)
    form = client.get(f"/programme/contracts/{ended.pk}/acceptance/")
    assert form.status_code == 200 and "服务规范与档案管理" in form.content.decode()
    data = {"version": version.pk, "accepted_on": "2026-11-23", "team": "联合验收组"}
    out_of_range = {**data, **{f"score_{i.pk}": "8" for i in items}, f"score_{items[0].pk}": "12"}
    refused = client.post(f"/programme/contracts/{ended.pk}/acceptance/", out_of_range)
    assert refused.status_code == 400
    assert "的得分 12 不在 0.0–10.0 分之间" in refused.content.decode()
    assert not Acceptance.objects.exists()

    client.post(
        f"/programme/contracts/{ended.pk}/acceptance/", {**data, **{f"score_{i.pk}": "8" for i in items}}
    )
    acceptance = Acceptance.objects.get()
    page = client.get(f"/programme/contracts/{ended.pk}/").content.decode()
    assert "等待另一位管理员确认" in page
    client.post(f"/programme/acceptances/{acceptance.pk}/confirm/")  # the scorer: refused
    assert Acceptance.objects.get().status == AcceptanceStatus.SCORED

    client.force_login(colleague)
    client.post(f"/programme/acceptances/{acceptance.pk}/confirm/", {"note": "同意"})
    assert Acceptance.objects.get().status == AcceptanceStatus.CONFIRMED
    assert "已确认" in client.get(f"/programme/contracts/{ended.pk}/").content.decode()


def test_the_institution_sees_its_contracts_acceptance_but_does_not_score_it(client, admin, worker, ended):
    pf.acceptance(admin, ended)
    client.force_login(worker)
    page = client.get(f"/programme/contracts/{ended.pk}/").content.decode()
    assert "合同验收" in page and "待确认" in page and "确认验收结论" not in page
    assert client.get(f"/programme/contracts/{ended.pk}/acceptance/").status_code == 403


def test_the_acceptance_is_in_the_api(client, admin, colleague, worker, ended):
    version, items = _scored_items()

    def call(user, method, path, **payload):
        token = api_token_create(actor=None, user=user, name="测试")
        kwargs = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        if method == "post":
            kwargs |= {"data": payload, "content_type": "application/json"}
        return getattr(client, method)(f"/api/v1/programme{path}", **kwargs)

    standards = call(admin, "get", "/standards").json()
    assert {s["code"] for s in standards} >= {ASSESSMENT_CODE, ACCEPTANCE_CODE}
    body = {
        "standard_version_id": version.pk,
        "accepted_on": "2026-11-22",
        "team": "联合验收组",
        "scores": {str(i.pk): "11" for i in items},
    }
    assert call(admin, "post", f"/contracts/{ended.pk}/acceptances", **body).status_code == 400
    body["scores"] = {str(i.pk): "9" for i in items}
    created = call(admin, "post", f"/contracts/{ended.pk}/acceptances", **body)
    assert created.status_code == 201
    assert call(admin, "post", f"/contracts/{ended.pk}/acceptances", **body).status_code == 409
    acceptance_id = created.json()["id"]
    assert call(admin, "post", f"/acceptances/{acceptance_id}/confirm").status_code == 403
    confirmed = call(colleague, "post", f"/acceptances/{acceptance_id}/confirm")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    seen = call(worker, "get", f"/contracts/{ended.pk}/acceptances").json()
    assert [a["score"] for a in seen] == [str(Acceptance.objects.get().score)]


def test_the_standards_list_costs_the_same_whatever_its_length(client, city_admin):
    def grow(n: int) -> None:
        start = Standard.objects.count()
        for k in range(n):
            svc.standard_create(
                actor=city_admin,
                code=f"extra-{start + k}",
                name=f"验收标准{start + k}",
                purpose="acceptance",
                items=[svc.StandardItemData("档案", Decimal(10))],
                pass_score="80",
                rectify_score="60",
            )

    client.force_login(city_admin)
    few, many = at_two_sizes(client, "/programme/standards/", grow)
    assert few == many
