import pytest

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
