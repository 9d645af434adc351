"""Every 精康 list page and worklist costs the same statements for 3 rows as for 9 (issue 16; NetBox
pins its lists' counts the same way). The institution's pages are shown to its rehab worker, the
intake pages to 西青区's administrator, each with rows of what it lists in that user's scope; the
number is pinned, and the same on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import time_machine

from kangfu.core.models import OrganisationKind, Region
from kangfu.core.tests.factories import OrganisationFactory
from kangfu.core.tests.querycount import at_two_sizes
from kangfu.people.tests.factories import PersonFactory
from kangfu.rehab.models import SCORED_FIELDS, ApplicationSource, StaffMember
from kangfu.rehab.services import activities, applications, enrolment, rosters, satisfaction, transfers
from kangfu.rehab.services import approvals as approval_services
from kangfu.rehab.services import cases as case_services
from kangfu.rehab.tests import factories as f

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 2, tzinfo=dt.UTC)  # 10:00 in Tianjin
TODAY = dt.date(2026, 11, 23)
ENROLLED = TODAY - dt.timedelta(days=60)  # long enough ago for follow-ups and plan reviews to be due
_n = itertools.count(1000)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


class Rows:
    """What each page lists, n more at a time, in the scope of the user who reads it."""

    def __init__(self, admin, worker, institution):
        self.admin, self.worker, self.institution = admin, worker, institution

    def _enrolled(self):
        return f.enrolled_case(
            admin=self.admin,
            rehab_worker=self.worker,
            institution_org=self.institution,
            person=f.patient(n=next(_n)),
            on=ENROLLED,
        )

    def cases(self, n: int) -> None:
        """n cases being served (follow-ups and plan reviews due) and n referred ones to screen, each
        with a contact."""
        for _ in range(n):
            self._enrolled()
            case = f.referred_case(
                admin=self.admin, institution_org=self.institution, person=f.patient(n=next(_n))
            )
            enrolment.screening_contact(
                actor=self.worker, case=case, data=enrolment.ContactData(contacted_on=TODAY, mode="phone")
            )

    def revisits(self, n: int) -> None:
        """n cases closed 40 days ago, each owing its first 回访 (overdue) by now."""
        for _ in range(n):
            case_services.case_discharge(
                actor=self.worker, case=self._enrolled(), on=TODAY - dt.timedelta(days=40), reason="recovered"
            )

    def surveys(self, n: int) -> None:
        """n cases served, each with its family's 满意度 form of this year."""
        for _ in range(n):
            satisfaction.survey_record(
                actor=self.worker,
                case=self._enrolled(),
                data=satisfaction.SurveyData(
                    filled_on=TODAY, respondent="family", scores=dict.fromkeys(SCORED_FIELDS, 4)
                ),
            )

    def approvals(self, n: int) -> None:
        """n cases served, each with a discharge proposed by a colleague and waiting."""
        if not hasattr(self, "colleague"):
            self.colleague = f.worker(self.institution, username="lq.colleague")
        for _ in range(n):
            approval_services.discharge_propose(
                actor=self.colleague, case=self._enrolled(), on=TODAY, reason="recovered", note="回归社会"
            )

    def activities(self, n: int) -> None:
        case = self._enrolled()
        for i in range(n):
            activities.activity_record(
                actor=self.worker,
                data=activities.ActivityData(
                    form="group",
                    service_type="social",
                    mode="site",
                    title=f"社交小组{i}",
                    held_on=TODAY - dt.timedelta(days=i),
                    leader=self.worker,
                    patients=[case.pk],
                ),
            )

    def transfers(self, n: int) -> None:
        hospital = OrganisationFactory(
            name=f"医院{next(_n)}", kind=OrganisationKind.PSYCHIATRIC_HOSPITAL, region_id=f.XIQING
        )
        for _ in range(n):
            case = self._enrolled()
            transfers.transfer_send(
                actor=self.worker,
                person=case.person,
                case=case,
                data=transfers.TransferData(
                    to_org=hospital,
                    kind="relapse",
                    reason="病情波动",
                    shared=[],
                    sent_on=TODAY - dt.timedelta(days=10),
                ),
            )

    def applications(self, n: int) -> None:
        """n applications received, n registered and waiting for referral, n referred."""
        for _ in range(n):
            for step in range(3):
                person = f.patient(n=next(_n))
                application = applications.application_create(
                    actor=self.admin,
                    person=person,
                    data=applications.ApplicationData(
                        source=ApplicationSource.SELF,
                        received_on=TODAY - dt.timedelta(days=3),
                        applicant_name=person.name,
                    ),
                )
                if step:
                    applications.application_register(actor=self.admin, application=application, on=TODAY)
                if step == 2:
                    application.refresh_from_db()
                    applications.application_refer(
                        actor=self.admin, application=application, institution=self.institution, on=TODAY
                    )

    def rosters(self, n: int) -> None:
        district = Region.objects.get(code=f.XIQING)
        for _ in range(n):
            number = PersonFactory.build(community_code=f.XIQING_COMMUNITY, county="120111").id_number
            raw = f"姓名,身份证号,现住社区,联系电话,诊断\n名单人,{number},{f.XIQING_COMMUNITY},13900000000,精神分裂症\n"
            rosters.roster_preview(
                actor=self.admin,
                district=district,
                source=ApplicationSource.HEALTH_LIST,
                file_name=f"名单{next(_n)}.csv",
                raw=raw.encode(),
                received_on=TODAY,
            )

    def institutions(self, n: int) -> None:
        """n institutions of the district, each with two staff."""
        for _ in range(n):
            org = f.institution(name=f"西青区康复机构{next(_n)}")
            for name in ("甲", "乙"):
                StaffMember.objects.create(organisation=org, name=f"社工{name}", profession="social_worker")


# page → (who asks, what grows, the pinned count). A page pays about a dozen statements before its
# rows: session, user (with its organisation), the menu and its counts of pending work, the read entries of the
# people shown (core.audit.record_reads) and the session's save.
PAGES = [
    # name, url, who asks, what grows, the pinned count
    ("worker home: screening, follow-ups, reviews", "/rehab/", "worker", Rows.cases, 16),
    ("worker home: transfers", "/rehab/", "worker", Rows.transfers, 16),
    ("cases", "/rehab/cases/", "worker", Rows.cases, 5),
    ("follow-ups", "/rehab/follow-ups/?until=2027-12-31", "worker", Rows.cases, 5),
    ("revisits", "/rehab/revisits/", "worker", Rows.revisits, 6),
    ("satisfaction", "/rehab/satisfaction/", "worker", Rows.surveys, 7),
    ("approvals", "/rehab/approvals/", "worker", Rows.approvals, 5),
    ("activities", "/rehab/activities/", "worker", Rows.activities, 4),
    ("transfers", "/rehab/transfers/", "worker", Rows.transfers, 6),
    ("institutions", "/rehab/institutions/", "admin", Rows.institutions, 6),
    ("intake home", "/rehab/", "admin", Rows.applications, 8),
    ("applications", "/rehab/applications/", "admin", Rows.applications, 5),
    ("rosters", "/rehab/rosters/", "admin", Rows.rosters, 5),
]


@pytest.mark.parametrize(
    ("url", "who", "grow", "pinned"), [pytest.param(*page[1:], id=page[0]) for page in PAGES]
)
def test_a_list_page_costs_the_same_queries_for_three_rows_as_for_nine(
    url, who, grow, pinned, client, admin, rehab_worker, institution
):
    rows = Rows(admin, rehab_worker, institution)
    client.force_login({"worker": rehab_worker, "admin": admin}[who])
    few, many = at_two_sizes(client, url, lambda n: grow(rows, n), lists_rows="/stats/" not in url)
    assert (few, many) == (pinned, pinned)
