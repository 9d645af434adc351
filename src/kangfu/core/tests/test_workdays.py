import datetime as dt

import pytest
from django.core.management import call_command

from kangfu.core.models import AuditAction, AuditEntry, CalendarDay
from kangfu.core.workdays import add_working_days, calendar_sync, state_council_days

pytestmark = pytest.mark.django_db


def test_the_migration_ships_the_state_councils_holidays_with_their_names():
    assert CalendarDay.objects.get(day=dt.date(2025, 10, 1)).name == "国庆节"
    assert CalendarDay.objects.get(day=dt.date(2025, 1, 29)).name == "春节"
    assert CalendarDay.objects.get(day=dt.date(2025, 10, 6)).name == "中秋节"
    assert CalendarDay.objects.get(day=dt.date(2024, 4, 4)).name == "清明节"
    assert not CalendarDay.objects.get(day=dt.date(2026, 2, 17)).is_workday


def test_the_migration_ships_weekend_days_worked_in_exchange():
    row = CalendarDay.objects.get(day=dt.date(2025, 9, 28))
    assert (row.name, row.is_workday) == ("国庆节调休上班", True)
    assert CalendarDay.objects.get(day=dt.date(2025, 10, 11)).is_workday


def test_every_year_the_package_knows_is_in_the_table():
    years = {first.year for first in CalendarDay.objects.dates("day", "year")}
    assert years == {day.year for day in state_council_days()}
    assert {2004, 2025, 2026} <= years


def test_five_working_days_after_the_eve_of_national_day_skip_the_holiday():
    # 10-01 to 10-08 off; Saturday 10-11 is worked: 9, 10, 11, 13, 14.
    assert add_working_days(dt.date(2025, 9, 30), 5) == dt.date(2025, 10, 14)


def test_a_sunday_worked_before_national_day_counts():
    # Sunday 09-28 is worked: 28, 29, 30, then 10-09 and 10-10.
    assert add_working_days(dt.date(2025, 9, 26), 5) == dt.date(2025, 10, 10)


def test_ten_working_days_over_the_spring_festival():
    # 2026-02-15 to 02-23 off, Saturdays 02-14 and 02-28 worked.
    assert add_working_days(dt.date(2026, 2, 10), 10) == dt.date(2026, 3, 2)


def test_a_year_the_package_does_not_know_counts_monday_to_friday():
    assert add_working_days(dt.date(2030, 9, 30), 5) == dt.date(2030, 10, 7)


def test_sync_adds_a_missing_year_and_writes_one_audit_row():
    CalendarDay.objects.filter(day__year=2025).delete()
    report = calendar_sync(actor=None)
    assert report.added == {2025: 33}
    assert CalendarDay.objects.filter(day__year=2025).count() == 33
    assert AuditEntry.objects.filter(action=AuditAction.IMPORT, object_type="core.calendarday").count() == 1


def test_sync_leaves_a_year_an_administrator_edited_alone():
    CalendarDay.objects.filter(day=dt.date(2026, 10, 6)).update(name="国庆节（本市调整）")
    CalendarDay.objects.filter(day=dt.date(2026, 10, 7)).delete()
    report = calendar_sync(actor=None)
    assert 2026 in report.kept
    assert not report.added
    assert CalendarDay.objects.get(day=dt.date(2026, 10, 6)).name == "国庆节（本市调整）"
    assert not CalendarDay.objects.filter(day=dt.date(2026, 10, 7)).exists()
    assert not AuditEntry.objects.filter(object_type="core.calendarday").exists()


def test_sync_keeps_a_year_the_package_does_not_know_typed_in_by_hand():
    CalendarDay.objects.create(day=dt.date(2030, 1, 1), name="元旦")
    calendar_sync(actor=None)
    assert CalendarDay.objects.filter(day__year=2030).count() == 1


def test_replace_takes_a_year_anew_from_the_package():
    CalendarDay.objects.filter(day=dt.date(2026, 10, 6)).update(name="改过的")
    CalendarDay.objects.create(day=dt.date(2026, 11, 18), name="本地假日")
    report = calendar_sync(actor=None, replace=[2026])
    assert report.replaced == {2026: report.added[2026] + 1}
    assert CalendarDay.objects.get(day=dt.date(2026, 10, 6)).name == "国庆节"
    assert not CalendarDay.objects.filter(day=dt.date(2026, 11, 18)).exists()


def test_replacing_a_year_the_package_does_not_know_is_refused():
    with pytest.raises(ValueError, match="2031"):
        calendar_sync(actor=None, replace=[2031])


def test_a_dry_run_writes_nothing():
    CalendarDay.objects.filter(day__year=2025).delete()
    report = calendar_sync(actor=None, dry_run=True)
    assert report.added == {2025: 33}
    assert not CalendarDay.objects.filter(day__year=2025).exists()
    assert not AuditEntry.objects.filter(object_type="core.calendarday").exists()


def test_the_command_syncs_and_shows_a_year(capsys):
    CalendarDay.objects.filter(day__year=2024).delete()
    call_command("calendar", "sync")
    assert "2024 年：导入" in capsys.readouterr().out
    call_command("calendar", "show", "2025")
    out = capsys.readouterr().out
    assert "2025-09-28 上班 国庆节调休上班" in out
    assert "2025-10-01 放假 国庆节" in out


def test_a_day_typed_in_the_admin_site_is_audited(admin_client):
    response = admin_client.post(
        "/admin/core/calendarday/add/", {"day": "2030-01-01", "name": "元旦", "is_workday": ""}
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(object_type="core.calendarday")
    assert (entry.action, entry.summary) == (AuditAction.CREATE, "系统管理：新增节假日与调休 2030-01-01 元旦")
