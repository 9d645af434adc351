import datetime as dt

import pytest
import time_machine

from kangfu.core.models import Role
from kangfu.core.tests.factories import UserFactory
from kangfu.people.tests.factories import (
    FUJIANLU,
    HUAMING_COMMUNITY,
    JIUJIANGLU,
    CertificateFactory,
    PersonFactory,
)

pytestmark = pytest.mark.django_db


def test_the_overview_counts_only_the_jurisdiction_by_next_level(login, district_admin):
    PersonFactory(community_code=JIUJIANGLU)
    PersonFactory(community_code=JIUJIANGLU)
    CertificateFactory(person=PersonFactory(community_code=FUJIANLU), digits="62")
    PersonFactory(community_code=HUAMING_COMMUNITY)
    response = login(district_admin).get("/reports/")
    charts = response.context["charts"]
    assert dict(zip(charts["by_region"]["labels"], charts["by_region"]["values"], strict=True)) == {
        "大营门街道": 2,
        "下瓦房街道": 1,
    }
    assert charts["by_category"] == [{"name": "精神残疾", "value": 1}]
    assert "vendor/echarts/echarts.min.js" in response.content.decode()


def test_the_overview_is_not_for_auditors(login, auditor):
    assert login(auditor).get("/reports/").status_code == 403


def test_the_overview_is_exported_as_the_figures_shown_and_the_export_is_audited(login, district_admin):
    import io

    from openpyxl import load_workbook

    from kangfu.core.models import AuditAction, AuditEntry

    PersonFactory(community_code=JIUJIANGLU)
    CertificateFactory(person=PersonFactory(community_code=FUJIANLU), digits="62")
    PersonFactory(community_code=HUAMING_COMMUNITY)
    response = login(district_admin).get("/reports/?export=xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    regions = [list(r) for r in book["按下级区划"].iter_rows(values_only=True)]
    assert regions[0] == ["区划", "人数"]
    assert sorted(map(tuple, regions[1:-1])) == [("下瓦房街道", 1), ("大营门街道", 1)]
    assert regions[-1] == ["合计", 2]
    assert [list(r) for r in book["持证人员按残疾类别"].iter_rows(values_only=True)] == [
        ["残疾类别", "人数"],
        ["精神残疾", 1],
    ]
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert (entry.actor_id, entry.object_type) == (district_admin.pk, "reports.overview")


def test_the_overview_is_counted_once_in_five_minutes_for_each_scope_and_says_when(
    client, district_admin, city_admin
):
    second_officer = UserFactory(role=Role.DISTRICT_ADMIN, jurisdiction_id=district_admin.jurisdiction_id)

    def registered(user) -> int:
        client.force_login(user)
        return client.get("/reports/").context["total"]

    with time_machine.travel(dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC), tick=False):
        PersonFactory(community_code=JIUJIANGLU)
        assert registered(district_admin) == 1
        PersonFactory(community_code=FUJIANLU)
        # The district's officers share one count; the city's is its own, counted now.
        assert registered(second_officer) == 1
        assert registered(city_admin) == 2
        assert "10:00 统计，每 5 分钟更新" in client.get("/reports/").content.decode()
    with time_machine.travel(dt.datetime(2026, 11, 20, 2, 6, tzinfo=dt.UTC), tick=False):
        assert registered(district_admin) == 2
        assert "10:06 统计" in client.get("/reports/").content.decode()
