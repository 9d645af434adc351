"""The demo district's data comparison: the usual feed sources, this month's feeds from 公安, 司法 and
残联 naming a few of 河西区's recipients, and a comparison run, so the streets have items to resolve."""

from __future__ import annotations

from django.utils import timezone

from kangfu.core.demo import DAYINGMEN, HEXI
from kangfu.core.models import Region
from kangfu.core.months import add_months, month_start
from kangfu.matching import agency, comparison, services
from kangfu.matching.models import FeedSource
from kangfu.people.models import CertificateStatus, DisabilityCertificate, Person
from kangfu.subsidies.models import Grant

SOURCES = [
    ("公安死亡人员", "death", {"id_number": "公民身份号码", "name": "姓名", "event_date": "死亡日期"}),
    (
        "殡葬火化记录",
        "cremation",
        {"id_number": "身份证号", "name": "姓名", "birth_date": "出生日期", "event_date": "火化日期"},
    ),
    ("司法服刑人员", "prison", {"id_number": "身份证号", "name": "姓名", "event_date": "判决生效日期"}),
    (
        "公安户籍迁出",
        "move",
        {"id_number": "身份证号", "name": "姓名", "event_date": "迁出日期", "region": "迁入地区划"},
    ),
    (
        "残联新办证",
        "cert_new",
        {"id_number": "身份证号", "name": "姓名", "category": "残疾类别", "grade": "残疾等级"},
    ),
    ("残联注销证", "cert_cancel", {"id_number": "身份证号", "name": "姓名", "event_date": "注销日期"}),
    (
        "残联等级变更",
        "cert_change",
        {
            "id_number": "身份证号",
            "name": "姓名",
            "category": "残疾类别",
            "grade": "残疾等级",
            "event_date": "变更日期",
        },
    ),
    ("低保名单", "dibao", {"id_number": "身份证号", "name": "姓名"}),
    ("老年人护理补贴名单", "elderly_care", {"id_number": "身份证号", "name": "姓名"}),
    ("人社工伤护理费名单", "work_injury", {"id_number": "社会保障号码", "name": "姓名"}),
]

# One exchange channel per agency of the demo city (数据交换渠道), so the city administrator's page
# shows them; their tokens are not kept (the page's 更换令牌 gives a new one, shown once).
CHANNELS = [
    ("河西公安分局", "天津市公安局河西分局", HEXI, ["公安死亡人员", "公安户籍迁出"]),
    ("市残联", "天津市残疾人联合会", "120100000000", ["残联新办证", "残联注销证", "残联等级变更"]),
    ("河西区民政低保", "河西区民政局社会救助科", HEXI, ["低保名单"]),
    ("市人社局", "天津市人力资源和社会保障局", "120100000000", ["人社工伤护理费名单"]),
]


def load(out) -> None:
    district = Region.objects.filter(code=HEXI).first()
    if (
        district is None
        or FeedSource.objects.exists()
        or not Grant.objects.filter(district=district).exists()
    ):
        return
    out.write("导入本月比对数据并运行河西区数据比对 …")
    for name, kind, mapping in SOURCES:
        services.feed_source_save(actor=None, name=name, kind=kind, mapping=mapping)
    month = month_start(timezone.localdate())
    # Recipients of 大营门街道 first, so the demo street officer has items to resolve.
    active = Grant.objects.filter(district=district, status="active").order_by("pk")
    recipients = list(dict.fromkeys(active.filter(street_id=DAYINGMEN).values_list("person_id", flat=True)))[
        :3
    ]
    recipients += list(
        dict.fromkeys(active.exclude(street_id=DAYINGMEN).values_list("person_id", flat=True))
    )[:6]
    people = {p.pk: p for p in Person.objects.filter(pk__in=recipients)}
    ordered = [people[pk] for pk in recipients if pk in people]
    last = add_months(month, -3)  # reported late: months have been paid since

    def push(source, header, lines):
        raw = (header + "\n" + "\n".join(lines) + "\n").encode("gbk")
        feed = services.feed_preview(
            actor=None,
            source=FeedSource.objects.get(name=source),
            raw=raw,
            file_name=f"{source}.csv",
            period=month,
        )
        services.feed_confirm(actor=None, feed=feed)

    push(
        "公安死亡人员",
        "公民身份号码,姓名,死亡日期",
        [f"{p.id_number},{p.name},{last.replace(day=12)}" for p in ordered[:3]],
    )
    push(
        "司法服刑人员",
        "身份证号,姓名,判决生效日期",
        [f"{p.id_number},{p.name},{last.replace(day=20)}" for p in ordered[3:4]],
    )
    push(
        "公安户籍迁出",
        "身份证号,姓名,迁出日期,迁入地区划",
        [f"{ordered[4].id_number},{ordered[4].name},{last.replace(day=8)},110101001001"],
    )
    without = (
        DisabilityCertificate.objects.filter(
            status=CertificateStatus.VALID, grade__lte=2, person__district=district
        )
        .exclude(person__subsidy_grants__isnull=False)
        .select_related("person")[:2]
    )
    push(
        "残联新办证",
        "身份证号,姓名,残疾类别,残疾等级",
        [f"{c.person.id_number},{c.person.name},{c.category},{c.grade}" for c in without],
    )
    comparison.run_execute(comparison.run_start(actor=None, district=district, period=month))
    _channels(month, ordered[5:6])


def _channels(month, people) -> None:
    """The agencies' channels, and one push by 河西's police left in preview for the district's
    payroll office to confirm on its feeds page."""
    accounts = {}
    for name, agency_name, region, sources in CHANNELS:
        channel, _ = agency.channel_create(
            actor=None,
            name=name,
            agency=agency_name,
            region=Region.objects.get(code=region),
            sources=list(FeedSource.objects.filter(name__in=sources)),
        )
        accounts[name] = channel.account
    if people:
        rows = [
            {"公民身份号码": p.id_number, "姓名": p.name, "死亡日期": add_months(month, -1).replace(day=20)}
            for p in people
        ]
        agency.push_receive(
            account=accounts["河西公安分局"],
            kind="death",
            period=month,
            rows=rows,
            file_name="death_rows.csv",
            key="demo-1",
        )
