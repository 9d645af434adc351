"""数据交换: agencies push their feeds with their own token, limited to their kinds and region, into
the same preview → confirm flow as an upload; a retried push is the same push; drop folders are read
once per file."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from kangfu.core.models import ApiToken, AuditEntry, Region, Role
from kangfu.core.services import api_token_create
from kangfu.core.tests.factories import UserFactory
from kangfu.matching import agency
from kangfu.matching.models import AgencyChannel, AgencyPush, FeedImport, FeedRow, ImportStatus
from kangfu.matching.services import feed_source_save
from kangfu.people.tests.factories import HUAMING_COMMUNITY, PersonFactory

pytestmark = pytest.mark.django_db

HEXI = "120103000000"
DONGLI = "120110000000"
TIANJIN = "120100000000"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def sources(db):
    return {
        "death": feed_source_save(
            actor=None,
            name="公安死亡",
            kind="death",
            mapping={
                "id_number": "公民身份号码",
                "name": "姓名",
                "birth_date": "出生日期",
                "event_date": "死亡日期",
            },
        ),
        "move": feed_source_save(
            actor=None,
            name="公安迁出",
            kind="move",
            mapping={"id_number": "身份证号", "event_date": "迁出日期", "region": "迁入地区划"},
        ),
        "dibao": feed_source_save(
            actor=None, name="低保名单", kind="dibao", mapping={"id_number": "身份证号"}
        ),
    }


@pytest.fixture
def police(sources):
    """河西区's police: deaths and moves of 河西区, with its token."""
    channel, token = agency.channel_create(
        actor=None,
        name="河西公安",
        agency="天津市公安局河西分局",
        region=Region.objects.get(code=HEXI),
        sources=[sources["death"], sources["move"]],
    )
    return channel, {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _push(client, auth, body: str, *, kind="death", key=None, name="d.csv", **more):
    headers = dict(auth)
    if key:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    data = {"kind": kind, "period": "2026-11", "file": SimpleUploadedFile(name, body.encode()), **more}
    return client.post("/api/v1/matching/pushes", data, **headers)


def _nothing_stored():
    assert (FeedImport.objects.count(), FeedRow.objects.count(), AgencyPush.objects.count()) == (0, 0, 0)


def test_a_police_push_of_deaths_lands_in_preview_and_the_district_confirms_it_as_an_upload(client, police):
    _, auth = police
    person = PersonFactory(name="钱故")
    response = _push(
        client, auth, f"公民身份号码,姓名,死亡日期\n{person.id_number},钱故,2026-10-03\n坏号,某,2026-10-04\n"
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["valid_lines"], body["errors"][0]["line"], body["district"]) == (
        "preview",
        1,
        3,
        HEXI,
    )
    # The agency polls its status URL.
    assert client.get(body["status_url"], **auth).json()["status"] == "preview"
    feed = FeedImport.objects.get()
    assert feed.rows.get().person == person
    # 河西区's payroll office sees it among its imports and confirms it on the existing page.
    clerk = UserFactory(role=Role.DISTRICT_ADMIN, jurisdiction_id=HEXI)
    client.force_login(clerk)
    assert "d.csv" in client.get(reverse("matching:feeds")).content.decode()
    client.post(reverse("matching:feed", args=[feed.pk]), {"action": "confirm"})
    feed.refresh_from_db()
    assert feed.status == ImportStatus.CONFIRMED
    assert client.get(body["status_url"], **auth).json()["status"] == "confirmed"
    # Another district's office neither sees nor confirms it while it is a preview.
    other = UserFactory(role=Role.DISTRICT_ADMIN, jurisdiction_id=DONGLI)
    assert FeedImport.objects.filter(pk=feed.pk, district_id=HEXI, imported_by=police[0].account).exists()
    client.force_login(other)
    assert client.get(reverse("matching:feeds")).status_code == 200


def test_a_push_of_a_kind_outside_the_channels_kinds_is_refused_and_nothing_is_stored(client, police):
    _, auth = police
    person = PersonFactory()
    response = _push(client, auth, f"身份证号\n{person.id_number}\n", kind="dibao")
    assert response.status_code == 403
    assert response.json()["detail"] == agency.KIND_REFUSED.format(
        kind="低保名单（民政）", kinds="死亡（公安/卫健）、户籍迁移（公安）"
    )
    _nothing_stored()


def test_a_push_naming_another_districts_people_is_refused_whole(client, police):
    _, auth = police
    ours, theirs = PersonFactory(), PersonFactory(community_code=HUAMING_COMMUNITY)
    body = f"公民身份号码,姓名,死亡日期\n{ours.id_number},甲,2026-10-03\n{theirs.id_number},乙,2026-10-04\n"
    response = _push(client, auth, body)
    assert response.status_code == 403
    assert response.json()["detail"] == agency.PEOPLE_REFUSED.format(lines="3", region="河西区")
    _nothing_stored()
    # A city-wide channel names the district; another district is outside a district channel.
    response = _push(
        client, auth, f"公民身份号码,姓名,死亡日期\n{ours.id_number},甲,2026-10-03\n", district="120110"
    )
    assert response.status_code == 403
    _nothing_stored()


def _refusals(channel) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(object_type="matching.agencychannel", object_id=str(channel.pk))
        .exclude(changes__refused=None)
        .order_by("id")
    )


def test_a_push_refused_for_its_kind_is_audited_against_the_channel(client, police):
    channel, auth = police
    person = PersonFactory()
    _push(client, auth, f"身份证号\n{person.id_number}\n", kind="dibao")
    (entry,) = _refusals(channel)
    assert (entry.actor_id, entry.action, entry.changes["kind"], entry.changes["via"]) == (
        channel.account_id,
        "import",
        "dibao",
        "api",
    )
    assert entry.changes["reason"] == agency.KIND_REFUSED.format(
        kind="低保名单（民政）", kinds="死亡（公安/卫健）、户籍迁移（公安）"
    )
    assert "河西公安" in entry.summary and "低保名单（民政）" in entry.summary
    # The file's checksum identifies it; nothing of its lines is kept.
    assert person.id_number not in json.dumps(entry.changes, ensure_ascii=False) + entry.summary


def test_a_push_refused_for_its_region_is_audited_and_its_people_are_not(client, police):
    channel, auth = police
    ours, theirs = PersonFactory(name="甲某"), PersonFactory(name="乙某", community_code=HUAMING_COMMUNITY)
    body = (
        f"公民身份号码,姓名,死亡日期\n{ours.id_number},甲某,2026-10-03\n{theirs.id_number},乙某,2026-10-04\n"
    )
    assert _push(client, auth, body).status_code == 403
    assert _push(client, auth, body, district="120110").status_code == 403
    people, district = _refusals(channel)
    assert people.changes["reason"] == agency.PEOPLE_REFUSED.format(lines="3", region="河西区")
    assert (district.changes["district"], district.changes["kind"]) == ("120110", "death")
    assert district.changes["reason"] == agency.DISTRICT_REFUSED.format(region="河西区", district="120110")
    written = json.dumps([people.changes, district.changes], ensure_ascii=False) + people.summary
    assert not any(text in written for text in (ours.id_number, theirs.id_number, "甲某", "乙某"))
    # The refusal is kept although the push's own transaction rolled back.
    _nothing_stored()


def test_an_accepted_or_repeated_push_leaves_no_refusal(client, police):
    channel, auth = police
    person = PersonFactory()
    body = f"公民身份号码,姓名,死亡日期\n{person.id_number},钱故,2026-10-03\n"
    assert _push(client, auth, body, key="k1").status_code == 201
    assert _push(client, auth, body, key="k1").status_code == 200
    assert _refusals(channel) == []


def test_a_refused_pulled_file_is_audited_as_a_pull(tmp_path, police):
    channel, _ = police
    AgencyChannel.objects.filter(pk=channel.pk).update(drop_folder=str(tmp_path))
    (tmp_path / "dibao").mkdir()
    (tmp_path / "dibao" / "低保_202611.csv").write_text("身份证号\n110101199003077777\n")
    report = agency.pull_drop_folders()
    assert len(report.refused) == 1
    (entry,) = _refusals(channel)
    assert (entry.changes["kind"], entry.changes["via"]) == ("dibao", "pull")


def test_a_line_without_an_id_is_linked_only_to_people_of_the_channels_district(client, police):
    _, auth = police
    born = dt.date(1950, 1, 1)
    ours = PersonFactory(name="重名", born=born)
    PersonFactory(name="重名", born=born, community_code=HUAMING_COMMUNITY)
    PersonFactory(name="外区", born=born, community_code=HUAMING_COMMUNITY)
    body = "姓名,出生日期,死亡日期\n重名,1950-01-01,2026-10-03\n外区,1950-01-01,2026-10-03\n"
    assert _push(client, auth, body).status_code == 201
    rows = {r.line: (r.person_id, r.confidence) for r in FeedRow.objects.all()}
    assert rows == {2: (ours.pk, "low"), 3: (None, "none")}


def test_a_move_may_name_a_destination_outside_the_channels_region(client, police):
    _, auth = police
    person = PersonFactory()
    moved = _push(
        client,
        auth,
        f"身份证号,迁出日期,迁入地区划\n{person.id_number},2026-10-01,110101001001\n",
        kind="move",
    )
    assert moved.status_code == 201


def test_a_revoked_channels_token_is_refused_and_nothing_is_stored(client, police):
    channel, auth = police
    agency.channel_revoke(actor=None, channel=channel)
    person = PersonFactory()
    response = _push(client, auth, f"公民身份号码,死亡日期\n{person.id_number},2026-10-03\n")
    assert response.status_code == 401
    _nothing_stored()


def test_a_staff_token_cannot_push_and_a_channel_token_opens_nothing_else(client, police):
    staff = UserFactory(role=Role.DISTRICT_ADMIN, jurisdiction_id=HEXI)
    staff_auth = {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(actor=None, user=staff, name='t')}"}
    person = PersonFactory()
    response = _push(client, staff_auth, f"公民身份号码,死亡日期\n{person.id_number},2026-10-03\n")
    assert (response.status_code, response.json()["detail"]) == (403, agency.NOT_A_CHANNEL)
    _nothing_stored()
    _, auth = police
    assert client.get("/api/v1/people/", **auth).status_code in (403, 404)
    assert client.get("/api/v1/matching/items", **auth).status_code == 403


def test_a_retried_push_returns_the_same_import_and_never_a_second(client, police):
    _, auth = police
    person = PersonFactory()
    body = f"公民身份号码,死亡日期\n{person.id_number},2026-10-03\n"
    first = _push(client, auth, body, key="gaj-20261120-001")
    again = _push(client, auth, body, key="gaj-20261120-001")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and again.json()["replayed"]
    assert FeedImport.objects.count() == 1
    # The same key for other data is a mistake the sender is told of.
    other = _push(client, auth, body + f"{PersonFactory().id_number},2026-10-05\n", key="gaj-20261120-001")
    assert other.status_code == 409
    # Without a key the content is the key.
    plain = _push(client, auth, body)
    assert (plain.status_code, FeedImport.objects.count()) == (201, 2)
    assert _push(client, auth, body, name="renamed.csv").json()["id"] == plain.json()["id"]
    assert FeedImport.objects.count() == 2


def test_rows_pushed_as_json_go_through_the_same_checks(client, police):
    _, auth = police
    person = PersonFactory()
    response = client.post(
        "/api/v1/matching/pushes/rows",
        json.dumps(
            {
                "kind": "death",
                "rows": [
                    {"公民身份号码": person.id_number, "姓名": person.name, "死亡日期": "2026-10-03"},
                    {"id_number": "坏号", "event_date": "2026-10-04"},
                ],
            }
        ),
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 201, response.json()
    assert (response.json()["valid_lines"], response.json()["errors"][0]["line"]) == (1, 3)
    assert FeedImport.objects.get().rows.get().person == person


def test_a_channel_polls_only_its_own_pushes(client, police, sources):
    _, auth = police
    response = _push(client, auth, f"公民身份号码,死亡日期\n{PersonFactory().id_number},2026-10-03\n")
    _, other_token = agency.channel_create(
        actor=None,
        name="东丽公安",
        agency="东丽分局",
        region=Region.objects.get(code=DONGLI),
        sources=[sources["death"]],
    )
    other = {"HTTP_AUTHORIZATION": f"Bearer {other_token}"}
    assert client.get(response.json()["status_url"], **other).status_code == 404


def test_a_city_channel_names_the_district_of_its_push(client, sources):
    _, token = agency.channel_create(
        actor=None,
        name="市残联",
        agency="天津市残联",
        region=Region.objects.get(code=TIANJIN),
        sources=[sources["dibao"]],
    )
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    person = PersonFactory(community_code=HUAMING_COMMUNITY)
    body = f"身份证号\n{person.id_number}\n"
    missing = _push(client, auth, body, kind="dibao")
    assert (missing.status_code, missing.json()["errors"]) == (400, {"district": [agency.NEEDS_DISTRICT]})
    assert _push(client, auth, body, kind="dibao", district="120103").status_code == 403
    _nothing_stored()
    assert _push(client, auth, body, kind="dibao", district="120110").json()["district"] == DONGLI


def test_a_pull_takes_each_file_once(tmp_path, police):
    channel, _ = police
    AgencyChannel.objects.filter(pk=channel.pk).update(drop_folder=str(tmp_path))
    (tmp_path / "death").mkdir()
    (tmp_path / "dibao").mkdir()
    person = PersonFactory()
    raw = f"公民身份号码,死亡日期\n{person.id_number},2026-10-03\n"
    (tmp_path / "death" / "死亡_202610.csv").write_text(raw, encoding="gbk")
    (tmp_path / "dibao" / "低保.csv").write_text(f"身份证号\n{person.id_number}\n")
    call_command("feeds", "pull")
    feed = FeedImport.objects.get()
    assert (feed.status, feed.period, feed.district_id) == ("preview", dt.date(2026, 10, 1), HEXI)
    # Again, and with the same file under another name: nothing new; the refused kind stays refused.
    (tmp_path / "death" / "copy.csv").write_text(raw, encoding="gbk")
    report = agency.pull_drop_folders()
    assert (report.taken, report.skipped, len(report.refused)) == ([], 2, 1)
    assert FeedImport.objects.count() == 1


def test_the_city_admin_creates_rotates_and_revokes_a_channel_on_its_page(client, sources):
    admin = UserFactory(role=Role.CITY_ADMIN, jurisdiction_id=TIANJIN)
    client.force_login(admin)
    url = reverse("matching:channels")
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "name": "河西公安",
            "agency": "河西分局",
            "region": HEXI,
            "sources": [sources["death"].pk, sources["move"].pk],
        },
    )
    assert response.status_code == 200
    channel = AgencyChannel.objects.get()
    token = response.context["new_token"][1]
    assert token.startswith("kf_") and token not in client.get(url).content.decode()
    assert not ApiToken.objects.filter(digest__contains=token).exists()
    # One source per kind.
    bad = client.post(
        url,
        {
            "name": "重复",
            "agency": "x",
            "region": HEXI,
            "sources": [sources["death"].pk] * 1 + [sources["death"].pk],
        },
    )
    assert bad.status_code in (200, 400)
    rotated = client.post(reverse("matching:channel", args=[channel.pk]), {"action": "rotate"})
    new = rotated.context["new_token"][1]
    assert new != token
    person = PersonFactory()
    old = _push(
        client,
        {"HTTP_AUTHORIZATION": f"Bearer {token}"},
        f"公民身份号码,死亡日期\n{person.id_number},2026-10-03\n",
    )
    assert old.status_code == 401
    client.post(reverse("matching:channel", args=[channel.pk]), {"action": "revoke"})
    channel.refresh_from_db()
    assert not channel.active
    gone = _push(
        client,
        {"HTTP_AUTHORIZATION": f"Bearer {new}"},
        f"公民身份号码,死亡日期\n{person.id_number},2026-10-03\n",
    )
    assert gone.status_code == 401
    assert AuditEntry.objects.filter(object_type="matching.agencychannel").count() >= 3


def test_only_the_city_admin_manages_channels(client, police):
    channel, _ = police
    for role, region in ((Role.DISTRICT_ADMIN, HEXI), (Role.AUDITOR, TIANJIN)):
        client.force_login(UserFactory(role=role, jurisdiction_id=region))
        assert client.get(reverse("matching:channels")).status_code == 403
        assert (
            client.post(reverse("matching:channel", args=[channel.pk]), {"action": "revoke"}).status_code
            == 403
        )
    channel.refresh_from_db()
    assert channel.active


def test_the_demo_has_a_channel_per_agency_and_a_push_for_hexi_to_confirm(monkeypatch, client):
    from kangfu.core.tests.demo_world import load_demo
    from kangfu.matching import demo
    from kangfu.subsidies import demo as subsidies_demo

    load_demo(monkeypatch, subsidies_demo, demo, people=400)
    assert AgencyChannel.objects.filter(active=True).count() == len(demo.CHANNELS)
    client.force_login(UserFactory._meta.model.objects.get(username="shi.admin"))
    page = client.get(reverse("matching:channels")).content.decode()
    assert all(name in page for name, *_ in demo.CHANNELS)
    pushed = AgencyPush.objects.get()
    assert (pushed.feed.status, pushed.feed.district_id) == (ImportStatus.PREVIEW, HEXI)
    client.force_login(UserFactory._meta.model.objects.get(username="hexi.admin"))
    client.post(reverse("matching:feed", args=[pushed.feed_id]), {"action": "confirm"})
    pushed.feed.refresh_from_db()
    assert pushed.feed.status == ImportStatus.CONFIRMED
