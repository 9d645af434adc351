"""`kangfu exchange define FILE` publishes a layout or refuses it in Chinese; `kangfu exchange
run-due`, called daily by a timer, makes last month's due files once."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import CommandError, call_command

from kangfu.exchange import layouts, services
from kangfu.exchange.models import Batch, Layout

pytestmark = pytest.mark.django_db


def test_define_publishes_a_new_version_and_says_so(tmp_path):
    services.install_shipped()
    text = (services.SHIPPED_DIR / "jk-cases.toml").read_text(encoding="utf-8")
    path = tmp_path / "jk.toml"
    path.write_text(text.replace('encoding = "gb18030"', 'encoding = "utf-8-sig"'), encoding="utf-8")
    out = io.StringIO()
    call_command("exchange", "define", str(path), stdout=out)
    assert "第 2 版" in out.getvalue()
    assert Layout.objects.get(code="jk-cases", is_current=True).encoding == "utf-8-sig"


def test_define_refuses_an_unknown_source_and_stores_nothing(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(
        '{"code": "x", "name": "x", "system": "x", "source": "subsidies.nothing", "columns": [{"header": "a", "field": "name"}]}',
        encoding="utf-8",
    )
    before = Layout.objects.count()
    with pytest.raises(CommandError) as caught:
        call_command("exchange", "define", str(path))
    assert str(caught.value).startswith(layouts.UNKNOWN_SOURCE.split("“")[0])
    assert Layout.objects.count() == before


def test_run_due_twice_makes_the_month_once(district_admin):
    services.install_shipped()
    with time_machine.travel(dt.datetime(2026, 11, 12, 9, 0), tick=False):
        call_command("exchange", "run-due", stdout=io.StringIO())
        first = Batch.objects.count()
        out = io.StringIO()
        call_command("exchange", "run-due", stdout=out)
    assert first == Layout.objects.filter(is_current=True).exclude(day_of_month=None).count()
    assert Batch.objects.count() == first
    assert "共生成 0 个批次" in out.getvalue()
