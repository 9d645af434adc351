import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from kangfu.core import audit
from kangfu.core.models import AuditAction, AuditEntry
from kangfu.core.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_audit_rows_cannot_be_changed_or_deleted_through_the_application(owner):
    entry = audit.record(actor=owner, action=AuditAction.VIEW, summary="x")
    entry.summary = "changed"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).update(summary="changed")
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.get(pk=entry.pk).summary == "x"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL")
@pytest.mark.parametrize(
    "statement", ["UPDATE core_auditentry SET summary = 'forged'", "DELETE FROM core_auditentry"]
)
def test_postgresql_refuses_update_and_delete_of_audit_rows(owner, statement):
    audit.record(actor=owner, action=AuditAction.VIEW, summary="kept")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert AuditEntry.objects.filter(summary="kept").count() == 1


def test_a_successful_login_is_audited_with_its_address(client, owner):
    client.post("/login/", {"username": "owner", "password": PASSWORD}, REMOTE_ADDR="10.1.2.3")
    entry = AuditEntry.objects.get(action=AuditAction.LOGIN)
    assert (entry.actor_id, entry.ip, entry.channel) == (owner.pk, "10.1.2.3", "web")


def test_a_failed_login_is_audited_with_the_username_tried(client, owner):
    client.post("/login/", {"username": "owner", "password": "wrong-password"})
    entry = AuditEntry.objects.get(action=AuditAction.LOGIN_FAILED)
    assert entry.actor_id is None
    assert entry.actor_username == "owner"


def test_after_signing_in_a_user_is_told_when_they_last_did_and_of_failed_attempts_since(client, owner):
    first = client.post(
        "/login/", {"username": "owner", "password": PASSWORD}, REMOTE_ADDR="10.1.2.3", follow=True
    )
    assert "这是您第一次登录。" in [str(m) for m in first.context["messages"]]
    client.post("/logout/")
    client.post("/login/", {"username": "owner", "password": "wrong-password"})
    client.post("/login/", {"username": "owner", "password": "wrong-password"})
    again = client.post("/login/", {"username": "owner", "password": PASSWORD}, follow=True)
    (notice,) = [str(m) for m in again.context["messages"]]
    assert notice.startswith("上次登录：") and "（来自 10.1.2.3）" in notice
    assert "此后有 2 次失败的登录尝试" in notice


def test_a_deactivated_account_is_signed_out_at_its_next_request(client, owner):
    client.post("/login/", {"username": "owner", "password": PASSWORD})
    assert client.get("/").status_code == 200
    type(owner).objects.filter(pk=owner.pk).update(is_active=False)
    response = client.get("/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_changes_keep_sensitive_values_out_of_the_trail():
    changes = audit.diff(
        {"name": "张三", "id_number": "120101198001011234"},
        {"name": "张四", "id_number": "120101198001011242"},
        sensitive={"id_number"},
    )
    assert changes == {"name": ["张三", "张四"], "id_number": audit.HIDDEN}


def test_auditors_search_the_trail_and_others_cannot(login, auditor, owner):
    audit.record(actor=owner, action=AuditAction.VIEW, summary="查看 某人 的档案")
    response = login(auditor).get("/audit/", {"username": "owner"})
    assert response.status_code == 200
    assert "查看 某人 的档案" in response.content.decode()
    assert login(owner).get("/audit/").status_code == 403


def test_the_trail_shows_the_kind_of_record_and_its_changes_by_field_label(login, auditor, owner, person):
    from kangfu.people import services as people

    people.person_update(
        actor=owner,
        person=person,
        data=people.PersonData(
            name="张四", id_number=person.id_number, community_code=person.community_id, phone="13912345678"
        ),
        expected_version=person.version,
    )
    body = login(auditor).get("/audit/", {"username": "owner"}).content.decode()
    assert "people.person" not in body and ">人员</td>" in body
    assert "姓名</span>：张三 → 张四" in body
    assert "联系电话</span>：已修改" in body and "13912345678" not in body
    assert "&quot;name&quot;" not in body and '"name":' not in body  # no JSON


def test_a_list_of_people_read_is_one_insert_with_an_entry_per_row_and_nothing_read_back(owner):
    from django.test.utils import CaptureQueriesContext

    from kangfu.people.tests.factories import PersonFactory

    people = PersonFactory.create_batch(3)
    with (
        audit.audit_context(ip="10.0.0.7", channel="web", request_id="req-7"),
        CaptureQueriesContext(connection) as queries,
    ):
        audit.record_reads(actor=owner, records=people, person_of=lambda p: p.pk, summary="查看人员列表")
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"]
    assert "RETURNING" not in queries.captured_queries[0]["sql"]
    rows = AuditEntry.objects.filter(summary="查看人员列表").order_by("person_id")
    assert [(e.person_id, e.object_type, e.object_id) for e in rows] == [
        (p.pk, "people.person", str(p.pk)) for p in sorted(people, key=lambda p: p.pk)
    ]
    assert {
        (e.actor_id, e.actor_username, e.action, e.ip, e.channel, e.request_id, str(e.changes)) for e in rows
    } == {(owner.pk, owner.username, AuditAction.VIEW, "10.0.0.7", "web", "req-7", "{}")}


def test_a_batch_names_each_entrys_person_or_none(owner):
    from kangfu.people.tests.factories import PersonFactory

    people = PersonFactory.create_batch(3)
    audit.record_many(actor=owner, action=AuditAction.VIEW, rows=[(p, None) for p in people], summary="无人")
    audit.record_many(
        actor=owner,
        action=AuditAction.UPDATE,
        rows=[(people[0], None), (people[1], people[1].pk)],
        summary="部分",
    )
    audit.record_many(actor=owner, action=AuditAction.UPDATE, rows=[], summary="空")
    assert sorted(AuditEntry.objects.filter(summary="无人").values_list("object_id", "person_id")) == sorted(
        (str(p.pk), None) for p in people
    )
    assert sorted(
        AuditEntry.objects.filter(summary="部分").values_list("object_id", "person_id"), key=str
    ) == sorted([(str(people[0].pk), None), (str(people[1].pk), people[1].pk)], key=str)
    assert not AuditEntry.objects.filter(summary="空").exists()
