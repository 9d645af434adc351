"""Institutions, staff and cases for the 精康 tests. Cases are built through the services where the
path matters; `enrolled_case` gives a case ready for assessments, plans and services."""

from __future__ import annotations

import datetime as dt

from kangfu.core.models import OrganisationKind, Role
from kangfu.core.tests.factories import OrganisationFactory, UserFactory
from kangfu.people.tests.factories import PersonFactory
from kangfu.rehab.models import Application, ApplicationSource, Case
from kangfu.rehab.services import applications, enrolment

XIQING = "120111000000"
BEICHEN = "120113000000"
HEXI = "120103000000"
XIQING_COMMUNITY = "120111001001"  # 西青区 西营门街道 小稍直口社区
XIQING_STREET_SITE = "120111003000"


def institution(name: str = "西青区精神障碍社区康复服务中心", region: str = XIQING):
    return OrganisationFactory(name=name, kind=OrganisationKind.REHAB_INSTITUTION, region_id=region)


def site(parent, name: str = "赤龙南街康复站点", region: str = XIQING_STREET_SITE):
    return OrganisationFactory(name=name, kind=OrganisationKind.REHAB_SITE, region_id=region, parent=parent)


def hospital(name: str = "天津市安定医院", region: str = HEXI):
    return OrganisationFactory(name=name, kind=OrganisationKind.PSYCHIATRIC_HOSPITAL, region_id=region)


def worker(org, username: str = "rehab", role: str = Role.REHAB_WORKER, jurisdiction: str = XIQING):
    return UserFactory(username=username, role=role, organisation=org, jurisdiction_id=jurisdiction)


def district_admin(username: str = "xiqing.admin", district: str = XIQING):
    org = OrganisationFactory(
        name=f"{username}民政局", kind=OrganisationKind.CIVIL_AFFAIRS, region_id=district
    )
    return UserFactory(
        username=username, role=Role.DISTRICT_ADMIN, organisation=org, jurisdiction_id=district
    )


def patient(**kwargs):
    kwargs.setdefault("community_code", XIQING_COMMUNITY)
    kwargs.setdefault("county", "120111")
    return PersonFactory(**kwargs)


def referred_case(*, admin, institution_org, person=None, on: dt.date | None = None) -> Case:
    person = person or patient()
    on = on or dt.date.today()
    application = applications.application_create(
        actor=admin,
        person=person,
        data=applications.ApplicationData(
            source=ApplicationSource.SELF, received_on=on, applicant_name=person.name
        ),
    )
    applications.application_register(actor=admin, application=application, on=on)
    application = Application.objects.get(pk=application.pk)
    return applications.application_refer(
        actor=admin, application=application, institution=institution_org, on=on
    )


def enrolled_case(*, admin, rehab_worker, institution_org, person=None, on: dt.date | None = None) -> Case:
    on = on or dt.date.today()
    case = referred_case(admin=admin, institution_org=institution_org, person=person, on=on)
    enrolment.screening_decide(actor=rehab_worker, case=case, eligible=True, on=on)
    case.refresh_from_db()
    return enrolment.case_enrol(
        actor=rehab_worker,
        case=case,
        data=enrolment.EnrolmentData(
            enrolled_on=on,
            worker=rehab_worker,
            rights_explained_on=on,
            agreement_signed_on=on,
            agreement_signer="both",
            agreement_guardian="监护人甲",
            registration={"diagnosis": "精神分裂症", "diagnosis_code": "F20"},
        ),
    )
