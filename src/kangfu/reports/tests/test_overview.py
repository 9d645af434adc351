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
