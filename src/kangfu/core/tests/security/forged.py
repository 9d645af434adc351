"""The forged requests: one catalogue of requests aimed at "their" side of the security world, and
how to send one as a signed-in role (a page with its own CSRF token, or the API with its own token).

A request names the records it aims at with `{key}`, a key of `World.theirs` (or `World.ours`
with `{ours_key}`), filled in when it is sent.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

from django.test import Client

from kangfu.core.tests.security.world import World
from kangfu.people.services import DUPLICATE_PERSON_ELSEWHERE
from kangfu.rehab.views.common import NOT_REGISTERED


@dataclass(frozen=True)
class Forged:
    method: str
    url: str
    data: dict = field(default_factory=dict)
    api: bool = False
    # Text that must not be in the answer, whatever its status (the name of their person, say).
    absent: tuple[str, ...] = ()
    # Text the answer must hold: the refusal's message constant.
    shows: tuple[str, ...] = ()


def _ids(world: World) -> dict[str, object]:
    ids: dict[str, object] = {key: row.pk for key, row in world.theirs.items()}
    ids.update({f"ours_{key}": row.pk for key, row in world.ours.items()})
    ids["id_number"] = world.theirs["person"].id_number
    ids["application_version"] = world.theirs["application"].version
    ids["person_version"] = world.theirs["person"].version
    ids["payroll_version"] = getattr(world.theirs["open_payroll"], "version", 0)
    return ids


def _fill(value, ids):
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def texts(world: World, forged: Forged) -> tuple[list[str], list[str]]:
    """What the answer must not hold and what it must, with the records' ids filled in."""
    ids = _ids(world)
    return [_fill(t, ids) for t in forged.absent], [_fill(t, ids) for t in forged.shows]


def answer_text(response) -> str:
    """What an answer shows, for the absence checks: an XLSX's cells, JSON unescaped, or the page."""
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    kind = response.get("Content-Type", "")
    if "spreadsheetml" in kind:
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(raw), read_only=True)
        return "\n".join(
            str(cell)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
            for cell in row
        )
    if "json" in kind:
        return json.dumps(json.loads(raw), ensure_ascii=False)
    return raw.decode("utf-8", "replace")


def csrf_client(user) -> Client:
    """A client that enforces CSRF as a browser's session would meet it, signed in as `user`, holding
    the token its own session was given by a page it may open."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/")
    return client


def send(client: Client, world: World, role: str, forged: Forged):
    ids = _ids(world)
    url = _fill(forged.url, ids)
    data = _fill(forged.data, ids)
    method = forged.method.lower()
    if forged.api:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {world.tokens[role]}"}
        if method == "get":
            return client.get(f"/api/v1{url}", data=data, **headers)
        return getattr(client, method)(
            f"/api/v1{url}", data=json.dumps(data), content_type="application/json", **headers
        )
    if method == "get":
        return client.get(url, data=data)
    token = client.cookies["csrftoken"].value
    if method == "post":
        return client.post(url, data=data, HTTP_X_CSRFTOKEN=token)
    return getattr(client, method)(url, HTTP_X_CSRFTOKEN=token)


_PERSON_EDIT = {
    "name": "改名",
    "id_number": "{id_number}",
    "street": "120110006000",
    "community": "120110006002",
    "version": "{person_version}",
}

# Every request the roles try, by a short name the report reads.
CATALOGUE: dict[str, Forged] = {
    # ---- pages of records outside the attacker's scope
    "their person page": Forged("GET", "/people/{person}/", absent=("华明申请人",)),
    "their person edit page": Forged("GET", "/people/{person}/edit/"),
    "their person 精康 tab": Forged("GET", "/people/{person}/", data={"tab": "rehab"}),
    "their person 两项补贴 tab": Forged("GET", "/people/{person}/", data={"tab": "subsidies"}),
    "their person found by ID number in the search box": Forged(
        "GET", "/people/", data={"q": "{id_number}"}, absent=("华明申请人",)
    ),
    "the people list": Forged("GET", "/people/", absent=("华明申请人", "华明故人", "北辰康复对象")),
    "their application page": Forged("GET", "/subsidies/applications/{application}/"),
    "their grant page": Forged("GET", "/subsidies/grants/{grant}/"),
    "their payroll page": Forged("GET", "/subsidies/payroll/{payroll}/"),
    "their payroll's bank file": Forged("GET", "/subsidies/payroll/{payroll}/file.xlsx"),
    "their comparison item page": Forged("GET", "/matching/items/{item}/"),
    "their feed import preview page": Forged("GET", "/matching/feeds/{preview}/"),
    "their comparison run page": Forged("GET", "/matching/runs/{run}/"),
    "their 精康 case page": Forged("GET", "/rehab/cases/{case}/"),
    "their 精康 agreement (print)": Forged("GET", "/rehab/cases/{case}/agreement/"),
    "their 精康 application page": Forged("GET", "/rehab/applications/{rehab_application}/"),
    "their institution's 精康 statistics": Forged(
        "GET", "/reports/rehab/", data={"institution": "{institution}", "export": "xlsx"}
    ),
    "their institution's page": Forged("GET", "/rehab/institutions/{institution}/"),
    "their 精康 roster preview page": Forged("GET", "/rehab/rosters/{roster}/"),
    "another centre's unit page": Forged("GET", "/devices/units/{unit}/"),
    "another centre's rental page": Forged("GET", "/devices/rentals/{rental}/"),
    "another centre's rental contract (print)": Forged("GET", "/devices/rentals/{rental}/contract/"),
    "another centre's rental receipt (print)": Forged("GET", "/devices/rentals/{rental}/receipt/"),
    "their go-live job page": Forged("GET", "/golive/jobs/{job}/"),
    "their go-live job's error report": Forged("GET", "/golive/jobs/{job}/errors.csv"),
    "the audit log": Forged("GET", "/audit/"),
    # ---- exports
    "people export searching their ID number": Forged(
        "GET", "/people/export/", data={"q": "{id_number}"}, absent=("华明申请人",)
    ),
    "comparison items export": Forged("GET", "/matching/", data={"export": "xlsx"}, absent=("华明故人",)),
    "两项补贴 indicators export": Forged("GET", "/reports/subsidies/", data={"export": "xlsx"}),
    "rental statistics export": Forged("GET", "/reports/devices/", data={"export": "xlsx"}),
    # ---- POST actions, with the attacker's own CSRF token
    "change their person": Forged("POST", "/people/{person}/edit/", data=_PERSON_EDIT),
    "reveal their person's ID number": Forged("POST", "/people/{person}/reveal/id_number/"),
    "add a guardian to their person": Forged(
        "POST", "/people/{person}/guardians/add/", data={"name": "冒充监护人", "relation": "other"}
    ),
    "approve their application": Forged(
        "POST",
        "/subsidies/applications/{application}/",
        data={"decision": "pass", "opinion": "同意", "version": "{application_version}"},
    ),
    "lock their payroll": Forged("POST", "/subsidies/payroll/{open_payroll}/", data={"action": "lock"}),
    "confirm their comparison item": Forged(
        "POST",
        "/matching/items/{item}/",
        data={"action": "confirm", "note": "已核实", "effective_month": "2026-10-01"},
    ),
    "dismiss their comparison item": Forged(
        "POST", "/matching/items/{item}/", data={"action": "dismiss", "note": "健在"}
    ),
    "confirm their feed import preview": Forged(
        "POST", "/matching/feeds/{preview}/", data={"action": "confirm"}
    ),
    "discard their feed import preview": Forged(
        "POST", "/matching/feeds/{preview}/", data={"action": "discard"}
    ),
    "confirm their 精康 roster": Forged("POST", "/rehab/rosters/{roster}/", data={"action": "confirm"}),
    "close their 精康 case": Forged(
        "POST",
        "/rehab/cases/{case}/status/",
        data={"status": "discharged", "reason": "冒充", "on": "2026-12-01"},
    ),
    "rent another centre's unit": Forged(
        "POST",
        "/devices/rentals/new/?person={ours_renter}&product={ours_product}",
        data={
            "unit": "{free_unit}",
            "start_date": "2026-12-05",
            "end_date": "2027-01-03",
            "delivery_mode": "pickup",
        },
    ),
    "retire another centre's unit": Forged(
        "POST", "/devices/units/{free_unit}/", data={"action": "status", "status": "retired", "note": "冒充"}
    ),
    "confirm their go-live job": Forged("POST", "/golive/jobs/{job}/confirm/"),
    "discard their go-live job": Forged("POST", "/golive/jobs/{job}/discard/"),
    "start a payroll": Forged("POST", "/subsidies/payroll/", data={"month": "2026-12-01"}),
    "start a comparison": Forged("POST", "/matching/", data={"period": "2026-12-01"}),
    # ---- naming their person by ID number to act on it
    "register their person again (new-person form)": Forged(
        "POST",
        "/people/new/",
        data={
            "name": "重复建档",
            "id_number": "{id_number}",
            "street": "120103001000",
            "community": "120103001001",
        },
        absent=("华明申请人", "/people/{person}/"),
        shows=(DUPLICATE_PERSON_ELSEWHERE,),
    ),
    "API: register their person again": Forged(
        "POST",
        "/people/",
        data={"name": "重复建档", "id_number": "{id_number}", "community_code": "120103001001"},
        api=True,
        absent=("华明申请人", "existing_id"),
        shows=(DUPLICATE_PERSON_ELSEWHERE,),
    ),
    "精康 application for their person by ID number": Forged(
        "POST",
        "/rehab/applications/new/",
        data={
            "id_number": "{id_number}",
            "source": "self",
            "applicant_name": "冒充",
            "received_on": "2026-12-01",
        },
        absent=("华明申请人",),
        shows=(NOT_REGISTERED,),
    ),
    # ---- wrong methods
    "DELETE their person page": Forged("DELETE", "/people/{person}/"),
    "GET the reveal action": Forged("GET", "/people/{person}/reveal/id_number/"),
    # ---- the API, with the attacker's own bearer token
    "API: their person": Forged("GET", "/people/{person}", api=True),
    "API: their person by ID number (q)": Forged(
        "GET", "/people/", data={"q": "{id_number}"}, api=True, absent=("华明申请人",)
    ),
    "API: the people list": Forged(
        "GET", "/people/", api=True, absent=("华明申请人", "华明故人", "北辰康复对象")
    ),
    "API: change their person": Forged(
        "PATCH", "/people/{person}", data={"name": "改名", "version": "{person_version}"}, api=True
    ),
    "API: DELETE their person": Forged("DELETE", "/people/{person}", api=True),
    "API: their application": Forged("GET", "/subsidies/applications/{application}", api=True),
    "API: approve their application": Forged(
        "POST",
        "/subsidies/applications/{application}/decision",
        data={"decision": "pass", "opinion": "同意", "version": "{application_version}"},
        api=True,
    ),
    "API: their grant": Forged("GET", "/subsidies/grants/{grant}", api=True),
    "API: their payroll": Forged("GET", "/subsidies/payrolls/{payroll}", api=True),
    "API: start a payroll": Forged("POST", "/subsidies/payrolls", data={"month": "2026-12-01"}, api=True),
    "API: another centre's unit": Forged("GET", "/devices/units/{unit}", api=True),
    "API: another centre's rental": Forged("GET", "/devices/rentals/{rental}", api=True),
    "API: rent another centre's unit": Forged(
        "POST",
        "/devices/rentals",
        data={
            "person_id": "{ours_renter}",
            "unit_id": "{free_unit}",
            "start_date": "2026-12-05",
            "end_date": "2027-01-03",
        },
        api=True,
    ),
    "API: return another centre's rental": Forged(
        "POST",
        "/devices/rentals/{rental}/return",
        data={"returned_on": "2026-12-02", "condition": "good"},
        api=True,
    ),
    "API: their comparison run": Forged("GET", "/matching/runs/{run}", api=True),
    "API: confirm their 精康 roster": Forged("POST", "/rehab/rosters/{roster}/confirm", api=True),
    "API: their go-live job": Forged("GET", "/golive/jobs/{job}", api=True),
    "API: confirm their go-live job": Forged("POST", "/golive/jobs/{job}/confirm", api=True),
    "API: discard their go-live job": Forged("POST", "/golive/jobs/{job}/discard", api=True),
}
