"""Every page of the site × every role: the status each must get, kept as data (issue 16).

One table, `EXPECTED`, names every URL pattern of the site (walked from `kangfu.urls` by
`get_resolver()`, namespaces included) and the status a GET answers for each demo role and for an
anonymous visitor. A URL added without a row fails `test_every_url_of_the_site_has_a_row`, so no page
is added without someone deciding who may open it; no answer may be a 500.

The world is the security suite's (`core.tests.security.world`), seen from "their" side: the
columns are users whose jurisdiction, institution or rental centre holds the records the path
parameters name (东丽区 华明街道's people, applications, grants, payroll and comparison; 北辰's 精康
case and programme contract; 河东's rental centre), so a 200 says the role may do it and a 403 that
its role may not. Records out of scope (404) are the forged-request suite's business; here they
appear where a role's jurisdiction cannot be made to hold every record at once (a community holds one
of 华明's two communities; a hospital's doctor is not the 北辰 centre's; the district column is 东丽's,
not 北辰's), and where a page answers every role but the one it serves as if the record did not exist
(a 精康 case, access.case_q).

Statuses: 200 page, 302 redirect (to the sign-in page for a visitor, or onwards), 403 the role may
not, 404 the record is not in its scope, 405 a POST-only action asked with GET.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlencode, urlsafe_base64_encode

from kangfu.core.models import OrganisationKind, Region, Role, User
from kangfu.core.tests import files
from kangfu.core.tests.security.world import BEICHEN, DONGLI, HUAMING, HUAMING_2, World, _user, build, travel

# Not GET-tested here: the admin site (`admin/`) is Django's own and open to superusers only (no
# role has is_staff); the API (`api/v1/`, and the `^api/` catch-all answering JSON 404s) is walked by
# its schemathesis test and the forged-request suite with bearer tokens, not sessions.
EXCLUDED_PREFIXES = ("admin/", "api/", "^api/")

# The table's columns, in order: the demo roles, then a visitor without an account.
COLUMNS = (
    ("city", Role.CITY_ADMIN),
    ("dist", Role.DISTRICT_ADMIN),
    ("strt", Role.STREET_OFFICER),
    ("comm", Role.COMMUNITY_WORKER),
    ("rehb", Role.REHAB_WORKER),
    ("doct", Role.PSYCHIATRIST),
    ("clrk", Role.DEVICE_CLERK),
    ("dpf", Role.DPF_REVIEWER),
    ("audt", Role.AUDITOR),
    ("anon", ""),
)


def walk(
    resolver: URLResolver | None = None, prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str]]:
    """(name, route) of every URL pattern under `resolver`, its namespaces joined with ':'."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from walk(entry, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = entry.name or str(entry.pattern)
            yield (f"{namespace}:{name}" if namespace and entry.name else name), prefix + str(entry.pattern)


def site_urls() -> dict[str, str]:
    """The URL names this matrix covers: every pattern but the excluded ones."""
    return {name: route for name, route in walk() if not route.startswith(EXCLUDED_PREFIXES)}


# ------------------------------------------------------------------ the world, from their side


def _matrix_users(world: World) -> dict[str, User | None]:
    """The user of each column: the one whose scope holds the records the path parameters name."""
    return {
        Role.CITY_ADMIN: world.users[Role.CITY_ADMIN],
        Role.DISTRICT_ADMIN: world.users["dongli"],
        Role.STREET_OFFICER: _user(
            "mx_huaming", Role.STREET_OFFICER, HUAMING, kind=OrganisationKind.STREET_OFFICE
        ),
        Role.COMMUNITY_WORKER: _user(
            "mx_huaming2", Role.COMMUNITY_WORKER, HUAMING_2, kind=OrganisationKind.COMMUNITY_COMMITTEE
        ),
        Role.REHAB_WORKER: world.users["beichen_worker"],
        Role.PSYCHIATRIST: world.users[Role.PSYCHIATRIST],
        Role.DEVICE_CLERK: User.objects.get(username="sec_hedong_clerk"),
        Role.DPF_REVIEWER: _user(
            "mx_dongli_dpf", Role.DPF_REVIEWER, DONGLI, kind=OrganisationKind.DISABLED_FEDERATION
        ),
        Role.AUDITOR: world.users[Role.AUDITOR],
        "": None,
    }


def _records(world: World) -> dict[str, object]:
    """What the path parameters name: the security world's records of their side, and one of each
    kind it does not build (a guardian, an appeal, a recovery, a review task, a 精康 assessment,
    placement, activity, photo and transfer, a rental request, a product photo, a programme fund,
    contract, milestone and payment, a filed report)."""
    from kangfu.devices.models import RentalRequest
    from kangfu.devices.services import catalogue, rental_requests
    from kangfu.people.tests.factories import GuardianFactory, PersonFactory
    from kangfu.programme.services import contracts as programme_contracts
    from kangfu.programme.services import supervision
    from kangfu.programme.tests import factories as programme
    from kangfu.rehab.models import ApplicationSource, Assessment, Scale
    from kangfu.rehab.services import activities, applications, placements, transfers
    from kangfu.reports import services as report_services
    from kangfu.reports.rules import Period
    from kangfu.subsidies.models import Recovery, Standard
    from kangfu.subsidies.services import appeals, grants, reviews

    theirs = world.theirs
    dongli = world.users["dongli"]
    case = theirs["case"]
    worker = world.users["beichen_worker"]
    person = theirs["person"]
    out: dict[str, object] = dict(theirs)
    out["guardian"] = GuardianFactory(person=person)
    out["certificate"] = person.certificates.first()
    out["income"] = person.income_periods.first()
    # A 精康 application in 华明 (the community's and the street's intake), beside 北辰's case.
    applicant = PersonFactory(name="华明精康申请人", community_code=HUAMING_2, county="120110")
    out["intake"] = applications.application_create(
        actor=dongli,
        person=applicant,
        data=applications.ApplicationData(
            source=ApplicationSource.SELF, received_on=dt.date(2026, 11, 20), applicant_name=applicant.name
        ),
    )
    scale = Scale.objects.filter(is_current=True).order_by("code").first()
    out["scale"] = scale
    out["assessment"] = Assessment.objects.create(
        case=case,
        district_id=case.district_id,
        scale=scale,
        assessed_on=dt.date(2026, 11, 3),
        answers={},
        total=0,
        band="mild",
        band_label="轻度",
        is_baseline=True,
        by=worker,
    )
    out["placement"] = placements.placement_save(
        actor=worker,
        case=case,
        data=placements.PlacementData(
            employer="北辰烘焙坊", employment_type="supported", job="学徒", starts_on=dt.date(2026, 11, 10)
        ),
    )
    out["activity"] = activities.activity_record(
        actor=worker,
        data=activities.ActivityData(
            form="group",
            service_type="social",
            mode="site",
            title="社交小组",
            held_on=dt.date(2026, 11, 12),
            patients=[case.pk],
        ),
    )
    out["activity_photo"] = activities.activity_photo_add(
        actor=worker,
        activity=out["activity"],
        image=SimpleUploadedFile("小组.png", files.PNG, content_type="image/png"),
    )
    hospital = world.users[Role.PSYCHIATRIST].organisation
    out["transfer"] = transfers.transfer_send(
        actor=worker,
        person=case.person,
        case=case,
        data=transfers.TransferData(
            to_org=hospital, kind="relapse", reason="病情波动", shared=[], sent_on=dt.date(2026, 11, 20)
        ),
    )
    # A discharge of 北辰's case proposed by its worker, waiting for a second person (审核).
    from kangfu.rehab.services import approvals as rehab_approvals

    out["approval"] = rehab_approvals.discharge_propose(
        actor=worker, case=case, on=dt.date(2026, 11, 20), reason="recovered"
    )
    # 北辰's weekly group with the case as a member, and a 满意度 link for the case, not yet used.
    from kangfu.rehab.services import groups, satisfaction

    data = groups.GroupData("北辰小组", "peer_support", "peer", list(range(7)), dt.time(14), dt.date.today())
    data.members.append(case.pk)
    out["group"] = groups.group_create(actor=worker, data=data)
    out["group_meeting"], out["group_member"] = out["group"].meetings.first(), out["group"].members.get()
    out["survey_token"] = satisfaction.survey_link_create(actor=worker, case=case, respondent="user")[1]
    # 两项补贴: a review year for 东丽区, then the grant stopped and the stop appealed.
    district = Region.objects.get(code=DONGLI)
    campaign = reviews.review_campaign_start(
        actor=dongli, district=district, year=2026, due_date=dt.date(2026, 12, 31)
    )
    out["review_task"] = campaign.tasks.first()
    grant = theirs["grant"]
    grants.grant_stop(actor=dongli, grant=grant, from_month=dt.date(2026, 12, 1), stop_reason="death")
    grant.refresh_from_db()
    out["appeal"] = appeals.appeal_lodge(
        actor=dongli, grant=grant, change=appeals.appealable_change(grant), reason="本人健在"
    )
    out["recovery"] = Recovery.objects.create(
        person=theirs["grant_person"],
        payroll=theirs["payroll"],
        amount=Decimal("100"),
        outstanding=Decimal("100"),
    )
    out["standard"] = Standard.objects.order_by("pk").first()
    # 辅具: 河东's category, a product photo and a citizen's request.
    clerk = User.objects.get(username="sec_hedong_clerk")
    product = theirs["product"]
    out["category"] = product.category
    out["product_photo"] = catalogue.product_photo_add(
        actor=clerk,
        product=product,
        image=SimpleUploadedFile("轮椅.png", files.PNG, content_type="image/png"),
    )
    with travel(dt.date(2026, 11, 21)):
        out["rental_request"] = rental_requests.request_submit(
            data=rental_requests.RequestData(
                product_id=product.pk,
                outlet_id=product.centre_id,
                name="河东市民",
                id_number=PersonFactory.build(community_code="120102001001", county="120102").id_number,
                phone="13700001111",
                address="河东 1 号",
                desired_start=dt.date(2026, 11, 25),
            )
        )
    assert isinstance(out["rental_request"], RentalRequest)
    # 精康 as a programme: a fund of 北辰区, a contract with 北辰's centre, a milestone and its payment.
    city = world.users[Role.CITY_ADMIN]
    fund = programme.fund(city, region=BEICHEN, name="北辰精康资金")
    out["fund"] = fund
    out["contract"] = programme.contract(city, fund, theirs["institution"], title="北辰精康服务项目")
    out["milestone"] = programme.milestone(city, out["contract"])
    out["payment"] = programme_contracts.payment_request(actor=worker, milestone=out["milestone"])
    # Its supervision: the city's checklist, a visit to 北辰's centre, its finding with a photo.
    out["checklist"] = programme.checklist(city)
    out["version"] = out["checklist"].versions.get()
    out["visit"] = programme.visit(city, theirs["institution"], out["version"])
    out["finding"] = out["visit"].findings.get()
    out["finding_photo"] = supervision.finding_photo_add(
        actor=city,
        finding=out["finding"],
        image=SimpleUploadedFile("现场.png", files.PNG, content_type="image/png"),
    )
    # Its standards (the shipped assessment standard) and the acceptance of last year's contract.
    from kangfu.programme.tests.factories import acceptance, shipped_standard

    out["standard"] = shipped_standard()
    last_year = programme.contract(
        city,
        fund,
        theirs["institution"],
        title="北辰精康服务项目（上年度）",
        amount="100000.00",
        starts_on=dt.date(2025, 1, 1),
        ends_on=dt.date(2025, 12, 31),
    )
    out["acceptance"] = acceptance(city, last_year)
    # The expert bank (北辰区's) and a city training that 北辰's centre's social worker attended.
    from kangfu.programme.services import experts as programme_experts
    from kangfu.rehab.services import institutions as rehab_institutions

    out["expert"] = programme.expert(city, region=BEICHEN)
    out["training"] = programme.training(city, [out["expert"]], held_on=dt.date(2026, 11, 10))
    member = rehab_institutions.staff_save(
        actor=worker,
        organisation=theirs["institution"],
        values={"name": "北辰社工", "profession": "social_worker"},
    )
    programme_experts.attendance_record(actor=city, training=out["training"], staff_ids=[member.pk])
    out["staff_member"] = member
    # 上报: 东丽区's monthly 两项补贴 report for November.
    out["period"] = nov = Period("month", dt.date(2026, 11, 1))
    monthly = {"actor": dongli, "code": "subsidy-monthly", "period": nov}
    with travel(dt.date(2026, 12, 2)):
        out["report"] = report_services.report_generate(**monthly)
        # Its regeneration, asked for and waiting for the task (run at commit, never here).
        out["generation"] = report_services.generation_request(**monthly)
    # 数据交换: 东丽区's approvals file for November, generated.
    from kangfu.exchange import services as exchange

    exchange.install_shipped()
    with travel(dt.date(2026, 12, 2)):
        batch = exchange.batch_request(
            actor=dongli,
            code="lb-approvals",
            region=Region.objects.get(pk=DONGLI),
            period=dt.date(2026, 11, 1),
        )
        out["exchange_batch"] = exchange.batch_generate(batch.pk)
    # 事件推送: a receiver registered by the city.
    from kangfu.events.models import Webhook

    out["webhook"] = Webhook.objects.create(
        name="市残联系统", url="http://127.0.0.1:9/hook", secret="s", region_id="120100000000"
    )
    user = world.users[Role.COMMUNITY_WORKER]
    out["first_login"] = (
        urlsafe_base64_encode(force_bytes(user.pk)),
        default_token_generator.make_token(user),
    )
    return out


def _pk(key: str) -> Callable[[dict], dict]:
    return lambda records: {"pk": records[key].pk}


# What fills each URL's path parameters, from `_records`.
PARAMETERS: dict[str, Callable[[dict], dict]] = {
    "events:webhook": _pk("webhook"),
    "events:action": _pk("webhook"),
    "first_login": lambda r: dict(zip(("uidb64", "token"), r["first_login"], strict=True)),
    "people:detail": _pk("person"),
    "people:edit": _pk("person"),
    "people:reveal": lambda r: {"pk": r["person"].pk, "field": "id_number"},
    "people:guardian_add": _pk("person"),
    "people:guardian_delete": lambda r: {"pk": r["person"].pk, "item": r["guardian"].pk},
    "people:certificate_add": _pk("person"),
    "people:certificate_cancel": lambda r: {"pk": r["person"].pk, "item": r["certificate"].pk},
    "people:income_add": _pk("person"),
    "people:income_end": lambda r: {"pk": r["person"].pk, "item": r["income"].pk},
    "people:life_event_add": _pk("person"),
    "rehab:application": _pk("intake"),
    "rehab:roster": _pk("roster"),
    **{
        f"rehab:{name}": _pk("case")
        for name in (
            "case",
            "case_contact",
            "case_decide",
            "case_status",
            "case_enrol",
            "case_registration",
            "case_registration_print",
            "case_agreement",
            "case_intake",
            "case_plan",
            "case_follow_up",
            "case_revisit",
            "case_satisfaction",
            "case_approvals",
            "case_transfer",
            "case_placement",
        )
    },
    "rehab:case_assess": lambda r: {"pk": r["case"].pk, "code": r["scale"].code},
    "rehab:case_placement_edit": lambda r: {"pk": r["case"].pk, "placement": r["placement"].pk},
    "rehab:assessment_amend": _pk("assessment"),
    "rehab:approval_decide": _pk("approval"),
    "rehab:activity": _pk("activity"),
    "rehab:activity_photo": _pk("activity_photo"),
    "rehab:transfer": _pk("transfer"),
    "rehab:institution": _pk("institution"),
    **{f"rehab:{n}": _pk("group") for n in ("group", "group_member_add", "group_end")},
    **{f"rehab:{n}": _pk("group_meeting") for n in ("group_meeting", "group_meeting_cancel")},
    "rehab:group_member_leave": _pk("group_member"),
    "rehab:case_survey_link": _pk("case"),
    "rehab:peer_own_case": _pk("staff_member"),
    "public:rehab_survey": lambda r: {"token": r["survey_token"]},
    "subsidies:application": _pk("application"),
    "subsidies:application_print": _pk("application"),
    "subsidies:grant": _pk("grant"),
    "subsidies:grant_appeal": _pk("grant"),
    "subsidies:appeal": _pk("appeal"),
    "subsidies:appeal_decide": _pk("appeal"),
    "subsidies:payroll": _pk("payroll"),
    "subsidies:payroll_file": lambda r: {"pk": r["payroll"].pk, "fmt": "xlsx"},
    "subsidies:recovery_repaid": _pk("recovery"),
    "subsidies:standard_close": _pk("standard"),
    "subsidies:review_print": _pk("review_task"),
    "matching:run": _pk("run"),
    "matching:feed": _pk("preview"),
    "matching:item": _pk("item"),
    "matching:channel": lambda r: {"pk": 1},
    "devices:category_edit": _pk("category"),
    "devices:product_edit": _pk("product"),
    "devices:product_photo": _pk("product"),
    "devices:unit": _pk("unit"),
    "devices:request": _pk("rental_request"),
    "devices:rental": _pk("rental"),
    "devices:rental_print": lambda r: {"pk": r["rental"].pk, "document": "contract"},
    "public:devices_request": lambda r: {"product_id": r["product"].pk},
    "public:devices_request_done": lambda r: {"reference": r["rental_request"].reference},
    "public:devices_photo": _pk("product_photo"),
    "public:subsidies_done": lambda r: {"number": r["application"].number},
    **{
        f"golive:{name}": _pk("job") for name in ("job", "mapping", "confirm", "discard", "recheck", "errors")
    },
    "golive:template": lambda r: {"kind": "people"},
    "programme:contract": _pk("contract"),
    "programme:milestone_new": _pk("contract"),
    "programme:milestone_request": _pk("milestone"),
    "programme:fund": _pk("fund"),
    "programme:fund_adjust": _pk("fund"),
    "programme:payment": _pk("payment"),
    "programme:payment_approve": _pk("payment"),
    "programme:payment_reject": _pk("payment"),
    "programme:checklist": _pk("checklist"),
    "programme:checklist_revise": _pk("checklist"),
    "programme:visit_new": lambda r: {"version_pk": r["version"].pk},
    "programme:visit": _pk("visit"),
    **{f"programme:finding_{name}": _pk("finding") for name in ("answer", "verify", "reopen", "photo_add")},
    "programme:finding_photo": _pk("finding_photo"),
    "programme:standard": _pk("standard"),
    "programme:standard_revise": _pk("standard"),
    "programme:acceptance_new": _pk("contract"),
    "programme:acceptance_confirm": _pk("acceptance"),
    "programme:acceptance_return": _pk("acceptance"),
    "programme:expert": _pk("expert"),
    "programme:expert_window_add": _pk("expert"),
    "programme:training": _pk("training"),
    "programme:training_attendance": _pk("training"),
    **{f"reports:{n}": _pk("report") for n in ("report", "submit", "correct", "return", "xlsx", "print")},
    **{
        f"reports:{n}": lambda r: {"code": r["report"].code, "period": r["period"].slug}
        for n in ("board", "generate")
    },
    "reports:generation": _pk("generation"),
    **{f"exchange:{name}": _pk("exchange_batch") for name in ("batch", "file", "sent", "acknowledged")},
}


# Query strings a page needs to be a page rather than a 404 (whom a rental or a fitting is for).
QUERIES: dict[str, Callable[[dict], dict]] = {
    "devices:fitting_new": lambda r: {"person": r["renter"].pk},
    "devices:rental_new": lambda r: {"person": r["renter"].pk, "product": r["product"].pk},
}


def parse(table: str) -> dict[str, dict[str, int]]:
    """`EXPECTED` as {url name: {role: status}}; a `# FIXME:` or other comment after a row is kept
    for the reader only."""
    rows: dict[str, dict[str, int]] = {}
    for line in table.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, *statuses = line.split()
        assert len(statuses) == len(COLUMNS), f"{name}: {len(statuses)} statuses for {len(COLUMNS)} columns"
        assert name not in rows, f"{name} has two rows"
        rows[name] = {role: int(status) for (_, role), status in zip(COLUMNS, statuses, strict=True)}
    return rows


# ------------------------------------------------------------------ the table

# What each role must be answered, written from DESIGN.md and `core.access.POLICIES` (what the role
# does), then checked against the site. A `# FIXME:` row is the site as it is where it disagrees
# with what the role should get (reported in issue 16); fix the product, then the row.
EXPECTED = parse("""
# url name                          city dist strt comm rehb doct clrk dpf  audt anon
home                                200  200  200  200  200  200  200  200  200  302
login                               302  302  302  302  302  302  302  302  302  200
logout                              405  405  405  405  405  405  405  405  405  405
two_factor                          200  200  200  200  200  200  200  200  200  302
password_change                     200  200  200  200  200  200  200  200  200  302
first_login_done                    200  200  200  200  200  200  200  200  200  200
first_login                         302  302  302  302  302  302  302  302  302  302
audit_log                           403  403  403  403  403  403  403  403  200  302
region_import                       200  403  403  403  403  403  403  403  403  302

# 人员: the registry, read by every role with people in its day, written by those who register.
people:list                         200  200  200  200  200  200  200  200  403  302
people:export                       200  200  200  403  403  403  403  403  403  302
people:create                       200  200  200  200  403  403  200  403  403  302
# A street's communities, for the forms: region names, as public as the citizens' form's.
people:communities                  200  200  200  200  200  200  200  200  200  302
people:detail                       200  200  200  200  404  404  404  200  403  302
people:edit                         200  200  200  200  404  403  404  403  403  302
people:reveal                       405  405  405  405  405  405  405  405  405  302
people:guardian_add                 405  405  405  405  405  405  405  405  405  302
people:guardian_delete              405  405  405  405  405  405  405  405  405  302
people:certificate_add              405  405  405  405  405  405  405  405  405  302
people:certificate_cancel           405  405  405  405  405  405  405  405  405  302
people:income_add                   405  405  405  405  405  405  405  405  405  302
people:income_end                   405  405  405  405  405  405  405  405  405  302
people:life_event_add               405  405  405  405  405  405  405  405  405  302

# 精康: intake by civil affairs (applications, rosters, referral), cases by the institution that
# serves them; a case is answered 404 to anyone else (access.case_q), as if it did not exist.
rehab:home                          200  200  200  200  200  200  403  403  403  302
rehab:applications                  200  200  200  200  403  403  403  403  403  302
rehab:application_new               200  200  200  200  200  200  403  403  403  302
rehab:applications_refer            405  405  405  405  405  405  405  405  405  302
rehab:application                   200  200  200  200  403  403  403  403  403  302
rehab:rosters                       200  200  200  200  403  403  403  403  403  302
# Rosters are received for the district (selectors.rosters_for), by every intake role in it.
rehab:roster                        200  200  200  200  403  403  403  403  403  302
rehab:cases                         403  403  403  403  200  200  403  403  403  302
# 安定's doctor is sent the case (a transfer), so reads what is shared with it (case_view "transfer").
rehab:case                          404  404  404  404  200  200  404  404  404  302
rehab:case_contact                  405  405  405  405  405  405  405  405  405  302
rehab:case_decide                   405  405  405  405  405  405  405  405  405  302
rehab:case_status                   405  405  405  405  405  405  405  405  405  302
rehab:case_enrol                    403  403  403  403  200  404  403  403  403  302
rehab:case_registration             403  403  403  403  200  404  403  403  403  302
rehab:case_registration_print       404  404  404  404  200  404  404  404  404  302
rehab:case_agreement                404  404  404  404  200  404  404  404  404  302
rehab:case_intake                   403  403  403  403  200  404  403  403  403  302
rehab:case_assess                   403  403  403  403  200  404  403  403  403  302
rehab:case_plan                     403  403  403  403  200  404  403  403  403  302
rehab:case_follow_up                403  403  403  403  200  404  403  403  403  302
rehab:case_revisit                  403  403  403  403  200  404  403  403  403  302
rehab:case_satisfaction             403  403  403  403  200  404  403  403  403  302
rehab:case_approvals                403  403  403  403  200  404  403  403  403  302
rehab:case_transfer                 403  403  403  403  200  404  403  403  403  302
rehab:case_placement                403  403  403  403  200  404  403  403  403  302
rehab:case_placement_edit           403  403  403  403  200  404  403  403  403  302
rehab:assessment_amend              403  403  403  403  200  404  403  403  403  302
rehab:activities                    403  403  403  403  200  200  403  403  403  302
rehab:activity_new                  403  403  403  403  200  200  403  403  403  302
rehab:activity                      403  403  403  403  200  404  403  403  403  302
rehab:activity_photo                403  403  403  403  200  404  403  403  403  302
rehab:follow_ups                    403  403  403  403  200  200  403  403  403  302
rehab:revisits                      403  403  403  403  200  200  403  403  403  302
rehab:satisfaction                  403  403  403  403  200  200  403  403  403  302
rehab:approvals                     403  403  403  403  200  200  403  403  403  302
rehab:approval_decide               405  405  405  405  405  405  405  405  405  302
rehab:transfers                     403  403  403  403  200  200  403  403  403  302
rehab:transfer_new                  403  403  403  403  200  200  403  403  403  302
rehab:transfer                      403  403  403  403  200  200  403  403  403  302
rehab:emergency                     403  403  403  403  200  200  403  403  403  302
rehab:institutions                  200  200  200  200  200  200  403  403  403  302
rehab:institution                   200  404  404  404  200  404  404  404  404  302
# Groups: run by their institution's workers, read by civil affairs of their district (北辰's).
rehab:groups                        200  200  403  403  200  200  403  403  403  302
rehab:group_new                     403  403  403  403  200  200  403  403  403  302
rehab:group                         200  404  403  403  200  404  403  403  403  302
rehab:group_meeting                 200  404  403  403  200  404  403  403  403  302
rehab:group_member_add              405  405  405  405  405  405  405  405  405  302
rehab:group_end                     405  405  405  405  405  405  405  405  405  302
rehab:group_member_leave            405  405  405  405  405  405  405  405  405  302
rehab:group_meeting_cancel          405  405  405  405  405  405  405  405  405  302
rehab:case_survey_link              403  403  403  403  200  404  403  403  403  302
rehab:peer_own_case                 405  405  405  405  405  405  405  405  405  302
# The statistics moved to 统计 (reports:rehab_stats): the old address redirects, for good, anyone.
rehab:stats                         301  301  301  301  301  301  301  301  301  301

# 两项补贴: civil affairs' business (access.RolePolicy.reads_civil_affairs), each step its own; the
# payroll the district's. The grant, its appeal and review task are 华明 community 1's, which the
# community column (community 2) does not hold.
subsidies:home                      200  200  200  200  403  403  403  200  403  302
subsidies:applications              200  200  200  200  403  403  403  200  403  302
subsidies:application_batch         405  405  405  405  405  405  405  405  405  302
# Only the community files at the counter (社区受理, applications.check_may_file).
subsidies:application_new           403  403  403  200  403  403  403  403  403  302
subsidies:application               200  200  200  200  403  403  403  200  403  302
subsidies:application_print         200  200  200  200  403  403  403  200  403  302
# A street's communities, for the counter form: region names, as on the citizens' form.
subsidies:communities               200  200  200  200  200  200  200  200  200  302
subsidies:grants                    200  200  200  200  403  403  403  200  403  302
subsidies:grant                     200  200  200  404  403  403  403  200  403  302
subsidies:grant_appeal              405  405  405  405  405  405  405  405  405  302
subsidies:appeals                   200  200  200  200  403  403  403  200  403  302
subsidies:appeal                    200  200  200  404  403  403  403  200  403  302
subsidies:appeal_decide             405  405  405  405  405  405  405  405  405  302
subsidies:payrolls                  403  200  403  403  403  403  403  403  403  302
subsidies:payroll                   403  200  403  403  403  403  403  403  403  302
subsidies:payroll_file              403  200  403  403  403  403  403  403  403  302
subsidies:recovery_repaid           405  405  405  405  405  405  405  405  405  302
# Every civil-affairs role reads the standards; only the city sets them (standard_close is POST).
subsidies:standards                 200  200  200  200  403  403  403  200  403  302
subsidies:standard_close            405  405  405  405  405  405  405  405  405  302
# The indicators moved to 统计 (reports:subsidies_indicators): the old address redirects, for good.
subsidies:indicators                301  301  301  301  301  301  301  301  301  301
subsidies:reviews                   200  200  200  200  403  403  403  200  403  302
subsidies:review_print              200  200  200  404  403  403  403  200  403  302
subsidies:visits                    200  200  200  200  403  403  403  200  403  302

# 数据比对: the same roles; feeds are imported by the district that runs the payroll.
matching:home                       200  200  200  200  403  403  403  200  403  302
# A comparison run is the district's: a street or community works its items, not the run.
matching:run                        200  200  404  404  403  403  403  200  403  302
matching:feeds                      403  200  403  403  403  403  403  403  403  302
matching:feed                       403  200  403  403  403  403  403  403  403  302
matching:item                       200  200  200  404  403  403  403  200  403  302
# Agency channels (数据交换渠道) are the city administrator's; their actions are POST only.
matching:channels                   200  403  403  403  403  403  403  403  403  302
matching:channel                    405  405  405  405  405  405  405  405  405  302

# 辅具: the rental centre's clerks run it; administrators read its statistics only.
devices:home                        403  403  403  403  403  403  200  403  403  302
devices:catalogue                   403  403  403  403  403  403  200  403  403  302
devices:category_new                403  403  403  403  403  403  200  403  403  302
devices:category_edit               403  403  403  403  403  403  200  403  403  302
devices:product_new                 403  403  403  403  403  403  200  403  403  302
devices:product_edit                403  403  403  403  403  403  200  403  403  302
devices:product_photo               403  403  403  403  403  403  405  403  403  302
devices:units                       403  403  403  403  403  403  200  403  403  302
devices:units_add                   403  403  403  403  403  403  200  403  403  302
devices:unit                        403  403  403  403  403  403  200  403  403  302
devices:requests                    403  403  403  403  403  403  200  403  403  302
devices:request                     403  403  403  403  403  403  200  403  403  302
devices:fitting_new                 403  403  403  403  403  403  200  403  403  302
devices:rentals                     403  403  403  403  403  403  200  403  403  302
devices:rental_new                  403  403  403  403  403  403  200  403  403  302
devices:rental                      403  403  403  403  403  403  200  403  403  302
devices:rental_print                403  403  403  403  403  403  200  403  403  302
# The statistics moved to 统计 (reports:devices_stats): the old address redirects, for good, anyone.
devices:stats                       301  301  301  301  301  301  301  301  301  301

# 精康 as a programme: its money and contracts managed by the city and the districts; an
# institution's staff read their own contracts and payments. The fund and contract are 北辰区's.
programme:contracts                 200  200  403  403  200  200  403  403  403  302
programme:contract_new              200  200  403  403  403  403  403  403  403  302
programme:contract                  200  404  403  403  200  404  403  403  403  302
programme:milestone_new             405  405  405  405  405  405  405  405  405  302
programme:milestone_request         405  405  405  405  405  405  405  405  405  302
programme:funds                     200  200  403  403  403  403  403  403  403  302
programme:fund_new                  200  200  403  403  403  403  403  403  403  302
programme:fund                      200  404  403  403  403  403  403  403  403  302
programme:fund_adjust               405  405  405  405  405  405  405  405  405  302
programme:payments                  200  200  403  403  200  200  403  403  403  302
programme:payment                   200  404  403  403  200  404  403  403  403  302
programme:payment_approve           405  405  405  405  405  405  405  405  405  302
programme:payment_reject            405  405  405  405  405  405  405  405  405  302
# Its supervision: checklists are the city's to write and the districts' to use; a visit, its findings
# and their photos are the visited institution's to read and answer.
programme:checklists                200  200  403  403  403  403  403  403  403  302
programme:checklist_new             200  403  403  403  403  403  403  403  403  302
programme:checklist                 200  200  403  403  403  403  403  403  403  302
programme:checklist_revise          405  405  405  405  405  405  405  405  405  302
programme:visits                    200  200  403  403  200  200  403  403  403  302
programme:visit_new                 200  200  403  403  403  403  403  403  403  302
programme:visit                     200  404  403  403  200  404  403  403  403  302
programme:finding_answer            405  405  405  405  405  405  405  405  405  302
programme:finding_verify            405  405  405  405  405  405  405  405  405  302
programme:finding_reopen            405  405  405  405  405  405  405  405  405  302
programme:finding_photo_add         405  405  405  405  405  405  405  405  405  302
programme:assessment                200  200  403  403  403  403  403  403  403  302
programme:finding_photo             200  404  403  403  200  404  403  403  403  302
# Its standards: the city's to write, the districts' to read; a contract's acceptance is scored and
# confirmed by the administrators who hold its fund (北辰区's contract: not 西青's district).
programme:standards                 200  200  403  403  403  403  403  403  403  302
programme:standard_new              200  403  403  403  403  403  403  403  403  302
programme:standard                  200  200  403  403  403  403  403  403  403  302
programme:standard_revise           405  405  405  405  405  405  405  405  405  302
programme:acceptance_new            200  404  403  403  403  403  403  403  403  302
programme:acceptance_confirm        405  405  405  405  405  405  405  405  405  302
programme:acceptance_return         405  405  405  405  405  405  405  405  405  302
# The expert bank: the administrators' (北辰区's expert: not 西青's district); trainings are held by
# the administrators (this one by the city, seen by every district) and read by the institutions
# whose staff attended (北辰's centre).
programme:experts                   200  200  403  403  403  403  403  403  403  302
programme:expert_new                200  200  403  403  403  403  403  403  403  302
programme:expert                    200  404  403  403  403  403  403  403  403  302
programme:expert_window_add         405  405  405  405  405  405  405  405  405  302
programme:trainings                 200  200  403  403  200  200  403  403  403  302
programme:training_new              200  200  403  403  403  403  403  403  403  302
programme:training                  200  200  403  403  200  404  403  403  403  302
programme:training_attendance       405  405  405  405  405  405  405  405  405  302

# Citizens' pages: open to anyone, signed in or not.
public:devices_catalogue            200  200  200  200  200  200  200  200  200  200
public:devices_request              200  200  200  200  200  200  200  200  200  200
# An acknowledgement shows only to the session that sent the request: anyone else is sent to the
# status lookup.
public:devices_request_done         302  302  302  302  302  302  302  302  302  302
public:devices_request_status       200  200  200  200  200  200  200  200  200  200
public:devices_photo                200  200  200  200  200  200  200  200  200  200
public:subsidies_apply              200  200  200  200  200  200  200  200  200  200
public:subsidies_communities        200  200  200  200  200  200  200  200  200  200
public:subsidies_done               302  302  302  302  302  302  302  302  302  302
public:subsidies_status             200  200  200  200  200  200  200  200  200  200
public:challenge                    200  200  200  200  200  200  200  200  200  200
public:rehab_survey                 200  200  200  200  200  200  200  200  200  200
public:rehab_survey_done            200  200  200  200  200  200  200  200  200  200

# 报表: the overview for civil affairs; reports are filed by districts and the city, which alone sees
# the board and the dashboard of its districts (a district is answered 404, as for a unit it does not
# reach); a report is its unit's and the city's.
reports:overview                    200  200  200  200  403  403  403  200  403  302
reports:filing                      200  200  403  403  403  403  403  403  403  302
reports:generate                    405  405  405  405  405  405  405  405  405  302
reports:generation                  404  200  404  404  404  404  404  404  404  302
reports:board                       200  404  403  403  403  403  403  403  403  302
reports:dashboard                   200  404  403  403  403  403  403  403  403  302
reports:report                      200  200  404  404  404  404  404  404  404  302
reports:submit                      405  405  405  405  405  405  405  405  405  302
reports:correct                     405  405  405  405  405  405  405  405  405  302
reports:return                      405  405  405  405  405  405  405  405  405  302
reports:xlsx                        200  200  404  404  404  404  404  404  404  302
reports:print                       200  200  404  404  404  404  404  404  404  302
# The services' statistics, 统计's since issue 14, answer each role as they did at their old address.
# A street or community receives 精康 applications but is counted into no figure of its own: refused.
reports:rehab_stats                 200  200  403  403  200  200  403  403  403  302
reports:devices_stats               200  200  403  403  403  403  200  403  403  302
reports:subsidies_indicators        200  200  200  200  403  403  403  200  403  302

# 数据交换: files for the systems of record, made and sent by district offices and the city; a
# batch is its district's and the city's.
exchange:home                       200  200  403  403  403  403  403  403  403  302
exchange:batch                      200  200  403  403  403  403  403  403  403  302
exchange:file                       200  200  403  403  403  403  403  403  403  302
exchange:sent                       405  405  405  405  405  405  405  405  405  302
exchange:acknowledged               405  405  405  405  405  405  405  405  405  302

# 事件推送: the city's administrator registers other systems' webhooks.
events:webhooks                     200  403  403  403  403  403  403  403  403  302
events:webhook                      200  403  403  403  403  403  403  403  403  302
events:action                       405  405  405  405  405  405  405  405  405  302

# 上线迁移: imports by those who register people; the job is 东丽区's, not 华明街道's.
# A doctor imports its hospital's 精康 cases (golive.kinds.rehab, runs_rehab).
golive:home                         200  200  200  200  200  200  200  403  403  302
golive:job                          200  200  404  404  404  404  404  403  403  302
golive:mapping                      405  405  405  405  405  405  405  405  405  302
golive:confirm                      405  405  405  405  405  405  405  405  405  302
golive:discard                      405  405  405  405  405  405  405  405  405  302
golive:recheck                      405  405  405  405  405  405  405  405  405  302
golive:errors                       200  200  404  404  404  404  404  403  403  302
# The people template: a kind the clinicians do not import is not there for them.
golive:template                     200  200  200  200  404  404  200  403  403  302
golive:reconcile                    200  200  403  403  403  403  403  403  403  302
# Accounts are made by the city (golive.kinds.accounts, sets_standards).
golive:invites                      200  403  403  403  403  403  403  403  403  302
""")


# ------------------------------------------------------------------ the tests


@pytest.fixture(scope="module")
def matrix(django_db_setup, django_db_blocker):
    """The world, its users by role and the records the parameters name, built once in a transaction
    rolled back at the module's end."""
    with django_db_blocker.unblock(), transaction.atomic():
        world = build()
        users = _matrix_users(world)
        records = _records(world)
        yield users, records
        transaction.set_rollback(True)


def _url(name: str, records: dict) -> str:
    fill = PARAMETERS.get(name)
    url = reverse(name, kwargs=fill(records) if fill else None)
    if name in QUERIES:
        url += "?" + urlencode(QUERIES[name](records))
    return url


def _answers(users: dict, records: dict) -> dict[str, dict[str, int]]:
    """{url name: {role: status}} for every URL of the table, each asked once by each role."""
    urls = {name: _url(name, records) for name in EXPECTED}
    out: dict[str, dict[str, int]] = {name: {} for name in EXPECTED}
    for _, role in COLUMNS:
        # A 500 is answered, not raised, so that one broken page is reported beside the others.
        client = Client(raise_request_exception=False)
        if users[role] is not None:
            client.force_login(users[role])
        for name, url in urls.items():
            out[name][role] = client.get(url).status_code
    return out


def test_every_url_of_the_site_has_a_row():
    walked = set(site_urls())
    assert sorted(walked - EXPECTED.keys()) == [], "a URL without a row: decide who may open it"
    assert sorted(EXPECTED.keys() - walked) == [], "a row for a URL that is gone"


def test_every_url_with_parameters_has_them_filled():
    with_parameters = {name for name, route in site_urls().items() if "<" in route}
    assert sorted(with_parameters - PARAMETERS.keys()) == []
    assert sorted(PARAMETERS.keys() - with_parameters) == []


def test_every_role_gets_the_status_its_row_says(matrix, db):
    users, records = matrix
    actual = _answers(users, records)
    errors = sorted(
        f"{name} {role or 'anonymous'}" for name, row in actual.items() for role, s in row.items() if s >= 500
    )
    assert errors == [], "pages that answer 500"
    wrong = [
        f"{name:30} {label:5} expected {EXPECTED[name][role]} got {actual[name][role]}"
        for name in EXPECTED
        for label, role in COLUMNS
        if actual[name][role] != EXPECTED[name][role]
    ]
    assert not wrong, "\n" + "\n".join(wrong)
