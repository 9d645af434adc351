"""Each shipped layout's file, read back as the receiving system would, holds what the records hold;
layouts are checked when defined; batches are made once per layout, region and month."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from openpyxl import load_workbook

from kangfu.core.models import AuditAction, AuditEntry, Region
from kangfu.exchange import layouts, services
from kangfu.exchange.models import Batch, BatchStatus, Layout
from kangfu.exchange.tests import scenario
from kangfu.exchange.tests.scenario import HEXI, MONTH
from kangfu.subsidies.models import ChangeAction, GrantChange, Kind

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 12, 9, 0), tick=False):
        yield


@pytest.fixture
def shipped(db):
    services.install_shipped()


@pytest.fixture(autouse=True)
def _on_commit(django_capture_on_commit_callbacks):
    # A batch's file is generated once its row is committed: run that work when the test's would be.
    global _capture
    _capture = django_capture_on_commit_callbacks


def generate(code: str, region: str = HEXI, actor=None, period=MONTH, **kwargs) -> Batch:
    with _capture(execute=True):
        batch = services.batch_request(
            actor=actor, code=code, region=Region.objects.get(pk=region), period=period, **kwargs
        )
    batch.refresh_from_db()
    return batch


def read_csv(batch: Batch) -> list[list[str]]:
    raw = batch.file.open("rb").read()
    batch.file.close()
    return list(
        csv.reader(
            io.StringIO(raw.decode(batch.layout.encoding), newline=""), delimiter=batch.layout.delimiter
        )
    )


def test_the_approvals_file_lists_this_months_starts_of_the_district_in_gbk(shipped):
    world = scenario.build(4)
    batch = generate("lb-approvals")
    assert batch.status == BatchStatus.GENERATED
    raw = batch.file.open("rb").read()
    batch.file.close()
    assert "姓名".encode("gbk") in raw  # GBK bytes, not UTF-8
    rows = read_csv(batch)
    header, body = rows[0], rows[1:]
    expected = [g for g in world.grants if g.district_id == HEXI and g.start_month == MONTH]
    assert len(body) == batch.row_count == len(expected)
    ids = header.index("公民身份号码")
    assert sorted(r[ids] for r in body) == sorted(g.person.id_number for g in expected)
    kinds = [r[header.index("补贴类别")] for r in body]
    assert kinds.count("1") == sum(g.kind == Kind.LIVING for g in expected)
    assert kinds.count("2") == sum(g.kind == Kind.CARE for g in expected)
    assert {r[header.index("起始发放年月")] for r in body} == {"202610"}
    first = next(
        r for r in body if r[ids] == expected[0].person.id_number and r[header.index("补贴类别")] == "1"
    )
    assert (first[header.index("残疾类别")], first[header.index("残疾等级")]) == ("1", "1")


def test_the_payments_file_sums_to_the_locked_payroll_to_the_fen(shipped):
    world = scenario.build(5)
    batch = generate("lb-payments")
    book = load_workbook(batch.file.open("rb"), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    batch.file.close()
    header, body = list(rows[0]), rows[1:]
    assert len(body) == len(world.lines)
    amounts = [Decimal(r[header.index("发放金额（元）")]) for r in body]
    assert sum(amounts) == sum(line.amount for line in world.lines)
    assert all(len(r[header.index("发放金额（元）")].split(".")[1]) == 2 for r in body)
    assert {r[header.index("银行账号")] for r in body} == {scenario.ACCOUNT}


def test_the_changes_file_codes_each_change_and_adds_late_ones_recorded_since_the_last_batch(shipped):
    world = scenario.build(2)
    first = generate("lb-changes")
    rows = read_csv(first)
    header, body = rows[0], rows[1:]
    assert len(body) == len(world.changes)
    assert sorted(r[header.index("变更类型")] for r in body) == ["21", "24"]
    assert [r[header.index("停发原因")] for r in body if r[header.index("变更类型")] == "24"] == ["01"]
    # A suspension of October recorded in November, after October's file went out, is not lost.
    with time_machine.travel(dt.datetime(2026, 12, 2, 9, 0), tick=False):
        late = GrantChange.objects.create(
            grant=world.grants[0], action=ChangeAction.SUSPEND, effective_month=MONTH, reason="补录"
        )
        batch = generate("lb-changes", period=dt.date(2026, 11, 1))
    body = read_csv(batch)[1:]
    assert batch.since == first.generated_at
    assert [r[header.index("变更类型")] for r in body] == ["22"]
    assert body[0][header.index("公民身份号码")] == late.grant.person.id_number


def test_the_case_list_holds_the_districts_cases_without_clinical_content(shipped):
    world = scenario.build(2)
    batch = generate("jk-cases")
    rows = read_csv(batch)
    header, body = rows[0], rows[1:]
    assert len(body) == len(world.cases)
    assert sorted(r[header.index("个案状态")] for r in body) == ["01", "04"]
    assert "诊断" not in "".join(header)


def test_a_name_gbk_cannot_hold_fails_the_batch_with_its_line_and_leaves_no_file(shipped):
    scenario.build(1, name="𠀀三")  # a CJK Extension B character: in GB18030, not in GBK
    batch = generate("lb-approvals")
    assert batch.status == BatchStatus.FAILED
    assert "第 2 行" in batch.error and "GBK" in batch.error
    assert not batch.file


def test_generating_is_an_audited_export(shipped, district_admin):
    scenario.build(1)
    batch = generate("lb-approvals", actor=district_admin)
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT, object_id=str(batch.pk))
    assert entry.actor == district_admin
    assert batch.filename in entry.summary


def test_a_month_is_generated_once_unless_regenerated_which_keeps_the_old_batch(shipped):
    scenario.build(1)
    first = generate("lb-approvals")
    with pytest.raises(ValidationError) as caught:
        generate("lb-approvals")
    assert "已生成" in caught.value.messages[0]
    second = generate("lb-approvals", regenerate=True)
    first.refresh_from_db()
    assert first.replaced and not second.replaced
    assert first.file and first.sha256 == second.sha256


def test_run_due_makes_last_months_due_files_once(shipped, district_admin):
    scenario.build(1)
    with _capture(execute=True):
        made = services.run_due()
    with _capture(execute=True):
        again = services.run_due()
    due = Layout.objects.filter(is_current=True).exclude(day_of_month=None).count()
    assert len(made) == due  # one district (河西) has an office account
    assert again == []
    assert {b.period for b in made} == {MONTH}
    assert Batch.objects.count() == due


def test_run_due_waits_for_the_layouts_day(shipped, district_admin):
    with time_machine.travel(dt.datetime(2026, 11, 3, 9, 0), tick=False):
        assert services.run_due() == []


def test_a_layout_naming_an_unknown_field_is_refused_and_nothing_is_stored(shipped):
    text = (services.SHIPPED_DIR / "lb-approvals.toml").read_text(encoding="utf-8")
    bad = text.replace('field = "street_name"', 'field = "nickname"')
    before = Layout.objects.count()
    with pytest.raises(ValidationError) as caught:
        services.layout_define(actor=None, text=bad)
    assert caught.value.messages == [
        layouts.UNKNOWN_FIELD.format(source="subsidies.approvals", fields="nickname")
    ]
    assert Layout.objects.count() == before


def test_a_code_table_with_a_value_we_do_not_hold_is_refused(shipped):
    text = (services.SHIPPED_DIR / "lb-approvals.toml").read_text(encoding="utf-8")
    bad = text.replace('grade = { 1 = "1",', 'grade = { 9 = "9", 1 = "1",')
    with pytest.raises(ValidationError) as caught:
        services.layout_define(actor=None, text=bad)
    assert "9" in caught.value.messages[0] and "代码表含本系统没有的值" in caught.value.messages[0]


def test_a_changed_layout_is_a_new_version_and_old_batches_keep_theirs(shipped):
    scenario.build(1)
    old = generate("lb-approvals")
    text = (services.SHIPPED_DIR / "lb-approvals.toml").read_text(encoding="utf-8")
    layout, new = services.layout_define(
        actor=None, text=text.replace('encoding = "gbk"', 'encoding = "utf-8"')
    )
    assert new and layout.version == 2
    old.refresh_from_db()
    assert old.layout.version == 1 and old.layout.encoding == "gbk"
    same, new_again = services.layout_define(
        actor=None, text=text.replace('encoding = "gbk"', 'encoding = "utf-8"')
    )
    assert not new_again and same == layout


def test_the_shipped_layouts_are_installed_by_the_migration():
    assert set(Layout.objects.filter(is_current=True).values_list("code", flat=True)) >= {
        "lb-approvals",
        "lb-changes",
        "lb-payments",
        "jk-cases",
    }
