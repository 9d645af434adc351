"""The street's worklist of items: searched, filtered, paged, exported, and resolved in batches."""

import datetime as dt
import io

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from kangfu.core.ids import mask_id_number
from kangfu.core.models import AuditAction, AuditEntry, Role
from kangfu.core.tests.factories import UserFactory
from kangfu.matching import comparison
from kangfu.matching.models import ComparisonRun, Item, ItemStatus
from kangfu.matching.tests.conftest import HEXI
from kangfu.people.tests.factories import PersonFactory

pytestmark = pytest.mark.django_db
DAYINGMEN_COMMUNITY = "120103001001"
XIAWAFANG_COMMUNITY = "120103002001"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def jiedao(db):
    return UserFactory(username="jd", role=Role.STREET_OFFICER, jurisdiction_id="120103001000")


@pytest.fixture
def quju(db):
    return UserFactory(username="qj", role=Role.DISTRICT_ADMIN, jurisdiction_id=HEXI)


def make_items(n, *, community=DAYINGMEN_COMMUNITY, rule="death", start=0):
    run = ComparisonRun.objects.create(district_id=HEXI, period=dt.date(2026, 11, 1))
    items = []
    for i in range(start, start + n):
        person = PersonFactory(name=f"疑点人{i:03d}", community_code=community)
        items.append(
            Item.objects.create(
                run=run,
                rule=rule,
                direction="stop",
                period=dt.date(2026, 11, 1),
                person=person,
                district_id=HEXI,
                street_id=community[:9] + "000",
                explanation=f"公安死亡数据：{person.name} 已死亡",
                due_date=dt.date(2026, 11, 30),
            )
        )
    return items


def rows_of(response) -> int:
    return response.content.decode().count('href="/matching/items/')


def test_the_worklist_is_paged_instead_of_cut(login, jiedao):
    make_items(120)
    client = login(jiedao)
    assert rows_of(client.get("/matching/")) == 50
    assert rows_of(client.get("/matching/?page=3")) == 20


def test_the_worklist_is_searched_by_name_or_id_number(login, jiedao):
    first, second, *_rest = make_items(5)
    client = login(jiedao)
    body = client.get("/matching/", {"q": "疑点人001"}).content.decode()
    assert (second.person.name in body, first.person.name in body) == (True, False)
    body = client.get("/matching/", {"q": first.person.id_number}).content.decode()
    assert (first.person.name in body, second.person.name in body) == (True, False)


def test_the_worklist_shows_rules_directions_and_statuses_in_chinese(login, jiedao):
    make_items(1, rule="prison")
    body = login(jiedao).get("/matching/").content.decode()
    for label in ("服刑仍在发放", "应退", "待核实"):
        assert label in body
    assert ">prison<" not in body and ">stop<" not in body


def test_htmx_gets_the_table_alone(login, jiedao):
    make_items(2)
    body = login(jiedao).get("/matching/", HTTP_HX_REQUEST="true").content.decode()
    assert "<header" not in body and "疑点人000" in body


def test_the_worklist_costs_the_same_queries_however_many_items(login, jiedao):
    client = login(jiedao)
    make_items(3)
    client.get("/matching/")  # warm the session and the caches
    with CaptureQueriesContext(connection) as few:
        client.get("/matching/")
    make_items(80, start=100)
    with CaptureQueriesContext(connection) as many:
        client.get("/matching/")
    assert len(few) == len(many) <= 17, (len(few), len(many))  # 17: the read entries, one statement


def test_the_export_is_the_current_filter_masked_and_audited(login, jiedao):
    first, *_rest = make_items(4)
    response = login(jiedao).get("/matching/", {"q": "疑点人000", "export": "xlsx"})
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert len(rows) == 2
    assert rows[1][3:5] == (first.person.name, mask_id_number(first.person.id_number))
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert (entry.object_type, entry.changes["rows"], entry.changes["filters"]) == (
        "matching.item",
        1,
        {"q": "疑点人000"},
    )


def test_a_street_confirms_many_items_with_one_note_and_one_audit_row_each(login, jiedao):
    items = make_items(3)
    response = login(jiedao).post(
        "/matching/",
        {"action": "confirm", "note": "已核实死亡证明", "pick": [f"{i.pk}:{i.version}" for i in items]},
    )
    assert response.status_code == 302
    assert set(Item.objects.values_list("status", "note")) == {(ItemStatus.CONFIRMED, "已核实死亡证明")}
    updates = AuditEntry.objects.filter(action=AuditAction.UPDATE, object_type="matching.item")
    assert sorted(int(pk) for pk in updates.values_list("object_id", flat=True)) == sorted(
        i.pk for i in items
    )


def test_a_batch_with_one_item_changed_meanwhile_changes_none_and_names_it(login, jiedao):
    items = make_items(3)
    changed = items[1]
    comparison.item_dismiss(actor=jiedao, item=changed, note="重名，非本人")
    client = login(jiedao)
    response = client.post(
        "/matching/",
        {"action": "confirm", "note": "已核实", "pick": [f"{i.pk}:{i.version}" for i in items]},
        follow=True,
    )
    body = response.content.decode()
    assert comparison.BULK_REFUSED.split("：")[0] in body
    assert changed.person.name in body and comparison.TAKEN in body
    assert set(Item.objects.exclude(pk=changed.pk).values_list("status", flat=True)) == {ItemStatus.OPEN}


def test_a_batch_confirmation_needs_its_basis(login, jiedao):
    items = make_items(2)
    body = (
        login(jiedao)
        .post(
            "/matching/",
            {"action": "confirm", "note": "", "pick": [f"{i.pk}:{i.version}" for i in items]},
            follow=True,
        )
        .content.decode()
    )
    assert comparison.NEEDS_BASIS in body
    assert set(Item.objects.values_list("status", flat=True)) == {ItemStatus.OPEN}


def test_a_batch_reaching_another_street_changes_nothing(jiedao):
    ours = make_items(1)
    theirs = make_items(1, community=XIAWAFANG_COMMUNITY, start=50)
    with pytest.raises(comparison.ValidationError) as caught:
        comparison.items_resolve(actor=jiedao, items=ours + theirs, action="dismiss", note="重名")
    assert theirs[0].person.name in caught.value.messages[0]
    assert comparison.NOT_YOURS in caught.value.messages[0]
    assert set(Item.objects.values_list("status", flat=True)) == {ItemStatus.OPEN}
    assert not AuditEntry.objects.filter(action=AuditAction.UPDATE).exists()


def test_a_picked_item_outside_the_users_scope_is_refused_on_the_page(login, jiedao):
    theirs = make_items(1, community=XIAWAFANG_COMMUNITY)
    body = (
        login(jiedao)
        .post("/matching/", {"action": "dismiss", "note": "x", "pick": [f"{theirs[0].pk}:1"]}, follow=True)
        .content.decode()
    )
    assert "无法识别" in body
    assert Item.objects.get().status == ItemStatus.OPEN


def test_only_a_street_officer_gets_the_batch_controls(login, jiedao, quju):
    make_items(1)
    assert 'form="bulk-form"' in login(jiedao).get("/matching/").content.decode()
    assert 'form="bulk-form"' not in login(quju).get("/matching/").content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"page": "abc"},
        {"page": "99999999999999999999"},
        {"status": "nonsense"},
        {"rule": "<script>"},
        {"q": "1" * 500},
        {"q": "99999999999999999999"},
    ],
)
def test_bad_filters_and_pages_answer_a_page_not_an_error(login, jiedao, query):
    make_items(2)
    assert login(jiedao).get("/matching/", query).status_code == 200


@pytest.mark.parametrize(
    "pick", ["x", "1", "1:x", "99999999999999999999:1", "1:99999999999999999999", "-1:1"]
)
def test_an_unreadable_pick_changes_nothing_and_says_so(login, jiedao, pick):
    make_items(1)
    response = login(jiedao).post(
        "/matching/", {"action": "confirm", "note": "已核实", "pick": [pick]}, follow=True
    )
    assert response.status_code == 200
    assert "无法识别" in response.content.decode()
    assert Item.objects.get().status == ItemStatus.OPEN


def test_reading_the_worklist_leaves_one_entry_per_item_shown(login, jiedao):
    from kangfu.core.models import AuditAction, AuditEntry

    make_items(3)
    login(jiedao).get("/matching/")
    read = AuditEntry.objects.filter(actor=jiedao, action=AuditAction.VIEW, object_type="matching.item")
    assert read.count() == 3 and None not in set(read.values_list("person_id", flat=True))
