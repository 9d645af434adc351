import datetime as dt

import pytest
import time_machine

from kangfu.core.models import Region
from kangfu.matching import comparison, services
from kangfu.matching.models import Item
from kangfu.people.tests.factories import CertificateFactory, IncomePeriodFactory, PersonFactory
from kangfu.subsidies.seed import seed_tianjin
from kangfu.subsidies.services import grants, payroll

M = dt.date
HEXI = "120103000000"


def travel(day):
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, 10, tzinfo=dt.UTC), tick=False)


@pytest.fixture
def death_item(db):
    """A 护理补贴 recipient paid for October, reported dead on 15 September."""
    seed_tianjin()
    person = PersonFactory(name="钱故", community_code="120103001001")
    CertificateFactory(person=person, digits="41")
    IncomePeriodFactory(person=person)
    grants.grant_migrate(
        actor=None,
        person=person,
        kind="care",
        district=HEXI,
        street=person.street_id,
        start_month=M(2026, 9, 1),
        grade=1,
        category=4,
        bank_name="银行",
        bank_account="6222020000001234567",
    )
    district = Region.objects.get(code=HEXI)
    for month in (M(2026, 9, 1), M(2026, 10, 1)):
        with travel(month.replace(day=25)):
            payroll.payroll_lock(
                actor=None, payroll=payroll.payroll_run(actor=None, district=district, month=month)
            )
    source = services.feed_source_save(
        actor=None, name="公安死亡", kind="death", mapping={"id_number": "身份证号", "event_date": "死亡日期"}
    )
    raw = f"身份证号,死亡日期\n{person.id_number},2026-09-15\n".encode()
    services.feed_confirm(
        actor=None,
        feed=services.feed_preview(
            actor=None, source=source, raw=raw, file_name="d.csv", period=M(2026, 11, 1)
        ),
    )
    with travel(M(2026, 11, 3)):
        comparison.run_execute(comparison.run_start(actor=None, district=district, period=M(2026, 11, 1)))
    return Item.objects.get()
