"""Importing staff accounts, and the first-login link through which each user sets a password."""

from __future__ import annotations

import io
import json
from urllib.parse import urlparse

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from kangfu.core.ids import PHONE_BAD
from kangfu.core.models import AuditAction, AuditEntry, OrganisationKind, Role, User
from kangfu.core.passwords import MIXED_CLASSES
from kangfu.core.tests.factories import OrganisationFactory, UserFactory
from kangfu.golive import services
from kangfu.golive.kinds import CHANGED, NEW, UNCHANGED
from kangfu.golive.kinds.accounts import BAD_ROLE, OUT_OF_SCOPE, UNKNOWN_ORG, WRONG_LEVEL
from kangfu.golive.models import ImportJob, JobStatus
from kangfu.golive.services.accounts import first_login_link
from kangfu.golive.tests.helpers import check, csv_bytes, lines_with_errors, run

pytestmark = pytest.mark.django_db

HEXI = "120103000000"
DAYINGMEN = "120103001000"
XIQING = "120111000000"
HUAMING = "120110006000"
HEADER = ["登录名", "姓名", "角色", "所属机构", "管辖区划", "手机"]
NEW_PASSWORD = "Qz-Secret-8821"


@pytest.fixture
def offices(db):
    return {
        "hexi": OrganisationFactory(name="河西区民政局", kind=OrganisationKind.CIVIL_AFFAIRS, region_id=HEXI),
        "dayingmen": OrganisationFactory(
            name="大营门街道办事处", kind=OrganisationKind.STREET_OFFICE, region_id=DAYINGMEN
        ),
        "rehab": OrganisationFactory(
            name="西青区精神障碍社区康复服务中心", kind=OrganisationKind.REHAB_INSTITUTION, region_id=XIQING
        ),
    }


def _rows() -> list[list[object]]:
    return [
        HEADER,
        ["hexi.li", "李明", "区民政管理员", "河西区民政局", "河西区", "13900001111"],
        ["dym.wang", "王芳", "街道", "", DAYINGMEN, ""],
        ["xq.zhao", "赵静", "社工", "西青区精神障碍社区康复服务中心", "西青区", "022-23456789"],
    ]


def test_an_account_file_creates_users_without_passwords_and_keeps_no_password_anywhere(city_admin, offices):
    job = run("accounts", csv_bytes(_rows()), actor=city_admin)
    assert job.status == JobStatus.DONE, job.message
    assert job.counts == {NEW: 3, CHANGED: 0, UNCHANGED: 0}
    li = User.objects.get(username="hexi.li")
    assert (li.full_name, li.role, li.jurisdiction_id, li.organisation, li.phone) == (
        "李明",
        Role.DISTRICT_ADMIN,
        HEXI,
        offices["hexi"],
        "13900001111",
    )
    # A street officer without an organisation belongs to the office of the street.
    assert User.objects.get(username="dym.wang").organisation == offices["dayingmen"]
    assert User.objects.get(username="xq.zhao").role == Role.REHAB_WORKER
    for user in User.objects.filter(username__in=["hexi.li", "dym.wang", "xq.zhao"]):
        assert not user.has_usable_password()
        assert not (user.is_staff or user.is_superuser)
    trail = json.dumps(
        [*AuditEntry.objects.values("summary", "changes"), services.job_summary(job), job.options],
        ensure_ascii=False,
    )
    assert "password" not in trail and "密码" not in trail
    entry = AuditEntry.objects.get(object_type="core.user", object_id=str(li.pk))
    assert entry.action == AuditAction.IMPORT and entry.actor == city_admin
    assert entry.changes["phone"] == "（已填写）"


def test_the_same_account_file_twice_changes_nothing(city_admin, offices):
    content = csv_bytes(_rows())
    run("accounts", content, actor=city_admin)
    passwords = dict(User.objects.values_list("username", "password"))
    before = AuditEntry.objects.filter(object_type="core.user").count()
    job = run("accounts", content, actor=city_admin)
    assert job.counts == {NEW: 0, CHANGED: 0, UNCHANGED: 3}
    assert AuditEntry.objects.filter(object_type="core.user").count() == before
    assert dict(User.objects.values_list("username", "password")) == passwords


def test_a_changed_line_updates_the_account_with_an_audit_row_and_leaves_its_password(city_admin, offices):
    run("accounts", csv_bytes(_rows()), actor=city_admin)
    wang = User.objects.get(username="dym.wang")
    rows = _rows()
    rows[2] = ["dym.wang", "王芳", "社区工作人员", "", "120103001001", "13900002222"]
    job = run("accounts", csv_bytes(rows), actor=city_admin)
    assert job.counts == {NEW: 0, CHANGED: 1, UNCHANGED: 2}
    changed = User.objects.get(pk=wang.pk)
    assert (changed.role, changed.jurisdiction_id, changed.phone) == (
        Role.COMMUNITY_WORKER,
        "120103001001",
        "13900002222",
    )
    # Still no password, and the same unusable one: a link already sent keeps working.
    assert changed.password == wang.password
    entry = AuditEntry.objects.get(summary="导入更新账号 dym.wang")
    assert entry.changes["role"] == [Role.STREET_OFFICER, Role.COMMUNITY_WORKER]
    assert entry.changes["phone"] == "（已修改，内容不记录）"


def test_a_district_admin_cannot_import_accounts(district_admin, offices):
    with pytest.raises(PermissionDenied):
        check("accounts", csv_bytes(_rows()), actor=district_admin)
    assert not ImportJob.objects.exists()


def test_lines_outside_the_jurisdiction_with_unknown_roles_or_bad_phones_are_refused(offices):
    hexi_admin = UserFactory(username="hexi_city_admin", role=Role.CITY_ADMIN, jurisdiction_id=HEXI)
    rows = [
        HEADER,
        ["ok.one", "甲", "街道工作人员", "", DAYINGMEN, ""],
        ["far.away", "乙", "街道工作人员", "", HUAMING, ""],
        ["boss", "丙", "科长", "", DAYINGMEN, ""],
        ["bad.phone", "丁", "街道工作人员", "", DAYINGMEN, "12345"],
        ["no.org", "戊", "社工", "不存在的康复中心", HEXI, ""],
        ["wrong.level", "己", "区民政管理员", "", DAYINGMEN, ""],
    ]
    job = run("accounts", csv_bytes(rows), actor=hexi_admin)
    errors = lines_with_errors(job)
    assert job.counts[NEW] == 1
    assert errors == {
        3: OUT_OF_SCOPE.format(value=HUAMING),
        4: BAD_ROLE.format(value="科长", roles="、".join(Role.labels)),
        5: PHONE_BAD,
        6: UNKNOWN_ORG.format(value="不存在的康复中心"),
        7: WRONG_LEVEL.format(role="区民政管理员", level="区（县）", value=DAYINGMEN),
    }
    assert list(
        User.objects.filter(username__in=[r[0] for r in rows[1:]]).values_list("username", flat=True)
    ) == ["ok.one"]


def test_an_account_of_another_jurisdiction_is_not_taken_over_by_its_username(offices, outsider):
    hexi_admin = UserFactory(username="hexi_city_admin", role=Role.CITY_ADMIN, jurisdiction_id=HEXI)
    job = check(
        "accounts", csv_bytes([HEADER, ["outsider", "某某", "街道", "", DAYINGMEN, ""]]), actor=hexi_admin
    )
    assert "管辖范围以外" in lines_with_errors(job)[2]
    outsider.refresh_from_db()
    assert outsider.jurisdiction_id == HUAMING


def test_a_first_login_link_lets_the_user_set_a_password_once(client, city_admin, offices):
    run("accounts", csv_bytes(_rows()), actor=city_admin)
    user = User.objects.get(username="hexi.li")
    link = first_login_link(actor=city_admin, user=user, base_url="http://kangfu.example/")
    assert link.startswith("http://kangfu.example/accounts/first-login/")
    entry = AuditEntry.objects.get(action=AuditAction.TOKEN_CREATE, object_id=str(user.pk))
    token = urlparse(link).path.rstrip("/").split("/")[-1]
    assert entry.actor == city_admin and token not in entry.summary

    response = client.get(urlparse(link).path)
    assert response.status_code == 302
    form_url = response["Location"]
    page = client.get(form_url)
    assert page.status_code == 200 and "hexi.li" in page.content.decode()
    # The project's password rules apply.
    weak = client.post(form_url, {"new_password1": "alllowercase1", "new_password2": "alllowercase1"})
    assert weak.status_code == 200 and MIXED_CLASSES in weak.content.decode()
    done = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/accounts/first-login/done/"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert AuditEntry.objects.filter(action=AuditAction.PASSWORD_CHANGE, actor=user).exists()

    again = client.get(urlparse(link).path, follow=True)
    assert "该链接无效" in again.content.decode()
    assert client.post("/login/", {"username": "hexi.li", "password": NEW_PASSWORD}).status_code == 302


def test_invite_all_new_prints_one_link_per_account_that_has_no_password(city_admin, offices):
    run("accounts", csv_bytes(_rows()), actor=city_admin)
    out = io.StringIO()
    call_command("invite", "--all-new", "--base-url", "https://kangfu.example", stdout=out)
    lines = [line for line in out.getvalue().splitlines() if "\thttps://" in line]
    assert sorted(line.split("\t")[0] for line in lines) == ["dym.wang", "hexi.li", "xq.zhao"]
    assert all("/accounts/first-login/" in line for line in lines)
    assert AuditEntry.objects.filter(action=AuditAction.TOKEN_CREATE).count() == 3
