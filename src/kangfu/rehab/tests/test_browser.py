"""精康 through the real browser: the district's civil affairs receive an application, register it and
refer it to the 西青 institution; its rehab worker screens, enrols with the signed agreement, assesses
(SDSS and PSP), plans, runs two group activities, follows up and re-assesses; the case page and the
statistics show the service delivered and the improvement."""

import datetime as dt

import pytest

from kangfu.core.tests import files
from kangfu.core.tests.factories import PASSWORD
from kangfu.rehab.models import Case, CaseStatus
from kangfu.rehab.tests import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAME = "赵康复"
INSTITUTION = "西青区精神障碍社区康复服务中心"
# A one-page PDF: what a scanner would give for the signed agreement.
AGREEMENT_PDF = files.PDF

# SDSS answers (0 无异常, 1 确有功能缺陷, 2 严重功能缺陷, 9 不适用): unmarried, so 婚姻职能 is not applicable.
SDSS_BASELINE = {
    "work": 2,
    "marriage": 9,
    "parenting": 0,
    "withdrawal": 2,
    "outside_activities": 1,
    "home_activities": 1,
    "family_role": 1,
    "self_care": 0,
    "interest": 1,
    "responsibility": 1,
}  # 9 (婚姻职能 left out)
SDSS_LATER = {**{key: 0 for key in SDSS_BASELINE}, "marriage": 9, "work": 1}  # 1
# PSP domains (0 无 … 5 非常严重): one domain 明显 selects the interval 51–60; later only 轻度: 71–80.
PSP_BASELINE = {"useful": 3, "relations": 2, "self_care": 1, "disturbing": 0}
PSP_LATER = {"useful": 1, "relations": 1, "self_care": 0, "disturbing": 0}


def log_in(page, base, username):
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def log_out(page):
    page.click("header button:has-text('退出')")
    page.wait_for_url("**/login/")


def save(page, button="main form button.primary"):
    with page.expect_navigation():
        page.click(button)


def message(page) -> str:
    return page.inner_text("ul.messages")


def rate(page, answers: dict[str, int]):
    for key, value in answers.items():
        page.check(f"input[name=item_{key}][value='{value}']")


def assess(page, short: str, answers: dict[str, int], *, global_score: int | None = None):
    page.click(f"#assessments a.button:has-text('{short}')")
    page.wait_for_selector("form.assessment")
    rate(page, answers)
    page.fill("#id_informant", "母亲")
    if global_score is not None:
        page.fill("#id_item_global", str(global_score))
    save(page)


def record_activity(page, *, title, service_type, family: tuple[str, str] | None = None):
    page.click("nav.subnav a:has-text('服务活动')")
    page.click("main a.button:has-text('登记服务活动')")
    page.select_option("#id_form", "group")
    page.select_option("#id_service_type", service_type)
    page.select_option("#id_mode", "site")
    page.fill("#id_title", title)
    page.fill("#id_place", "中心活动室")
    page.fill("#id_content", "热身、分组练习和分享")
    page.check(f"label:has-text('{NAME}') input[name=patients]")
    if family:
        page.select_option("#id_family-0-case", label=NAME)
        page.fill("#id_family-0-name", family[0])
        page.fill("#id_family-0-relation", family[1])
    save(page)
    assert page.inner_text("h1").startswith(title)
    assert page.inner_text("#patients") == "1"
    assert page.inner_text("#family") == ("1" if family else "0")


def test_an_application_becomes_an_enrolled_case_whose_services_and_improvement_are_counted(
    page, live_server
):
    institution = f.institution(name=INSTITUTION)
    worker = f.worker(institution, username="xiqing.rehab")
    f.district_admin(username="xiqing.mz")
    person = f.patient(name=NAME, born=dt.date(1988, 6, 6))
    today = dt.date.today().isoformat()
    base = live_server.url

    # 区民政局 receives the application, registers it (初核登记) and refers it to the institution.
    log_in(page, base, "xiqing.mz")
    page.click("nav.services a:has-text('精康')")
    page.wait_for_selector("h1:has-text('受理和转介')")
    page.click("main a.button:has-text('受理申请')")
    page.fill("#id_id_number", person.id_number)
    page.select_option("#id_source", "self")
    page.fill("#id_applicant_name", "赵父")
    page.fill("#id_applicant_phone", "13820001111")
    page.fill("#id_reason", "出院后在家，希望参加社区康复")
    save(page)
    assert f"已受理 {NAME} 的申请" in message(page)
    assert "待初核" in page.inner_text("h1")
    save(page, "button:has-text('初核登记')")
    assert "已初核登记" in message(page)
    page.select_option("#id_institution", label=INSTITUTION)
    save(page, "main form button.primary:has-text('转介')")
    assert f"已转介至{INSTITUTION}" in message(page)
    assert "已转介机构" in page.inner_text("h1")
    log_out(page)

    # The institution's worker finds the person to screen, records a phone call and decides 适合.
    log_in(page, base, "xiqing.rehab")
    page.goto(f"{base}/rehab/")
    page.click(f"section:has(h2:has-text('待筛查')) a:has-text('{NAME}')")
    assert page.inner_text("#case-status") == "已转介待筛查"
    contact = "form[action$='/contact/']"
    page.select_option("#id_contact-mode", "phone")
    page.check("#id_contact-reached")
    page.select_option("#id_contact-person_willing", "yes")
    page.select_option("#id_contact-guardian_willing", "yes")
    page.fill("#id_contact-note", "本人和父亲同意参加康复")
    save(page, f"{contact} button")
    assert "已记录联系情况" in message(page)
    assert "电话" in page.inner_text("section:has(h2:has-text('筛查')) table")
    page.click("summary:has-text('筛查结论')")
    decide = "form[action$='/decide/']"
    page.check(f"{decide} input[name=decide-eligible][value='1']")
    page.fill("#id_decide-note", "病情稳定，适合社区康复")
    save(page, f"{decide} button.primary")
    assert "已记录筛查结论" in message(page)
    assert page.inner_text("#case-status") == "已筛查待建档"

    # 登记建档 with the service agreement, signed by the person and the guardian, and its scan.
    page.click("main a.button:has-text('登记建档')")
    page.fill("#id_rights_explained_on", today)
    page.fill("#id_agreement_signed_on", today)
    page.select_option("#id_agreement_signer", "both")
    page.fill("#id_agreement_guardian", "赵父")
    page.set_input_files(
        "#id_agreement_scan",
        files=[{"name": "协议.pdf", "mimeType": "application/pdf", "buffer": AGREEMENT_PDF}],
    )
    page.fill("#id_diagnosis", "精神分裂症")
    page.fill("#id_diagnosis_code", "F20")
    page.fill("#id_onset_year", "2012")
    page.fill("#id_hospitalisations", "2")
    save(page)
    assert "已登记建档" in message(page)
    assert page.inner_text("#case-status") == "已建档"
    registration = page.inner_text("section:has(h2:has-text('基本情况登记表'))")
    assert "本人和监护人：赵父" in registration and "扫描件未上传" not in registration
    scan = page.request.get(base + page.get_attribute("a:text-is('扫描件')", "href"))
    assert scan.ok and scan.body() == AGREEMENT_PDF
    case = Case.objects.get(person=person)
    assert case.worker_id == worker.pk and case.agreement_signer == "both"

    # Baseline assessments: the server scores them.
    assess(page, "SDSS", SDSS_BASELINE)
    assert "社会功能缺陷筛选量表（SDSS）：9 分，存在社会功能缺陷" in message(page)
    sdss_row = "#outcomes tr[data-scale=sdss]"
    assert page.inner_text(f"{sdss_row} td:nth-child(2)").startswith("9（")
    assert page.inner_text(f"{sdss_row} td.outcome") == "仅有基线"
    # A PSP global score outside the interval the domains select is refused, then corrected.
    assess(page, "PSP", PSP_BASELINE, global_score=75)
    assert "应在 51–60 之间" in page.inner_text("form.assessment")
    page.fill("#id_item_global", "55")
    save(page)
    assert "个人和社会功能量表（PSP）：55 分，存在明显的功能障碍" in message(page)

    # The personal plan: one goal, one weekly service.
    page.click("main a.button:has-text('制订康复计划')")
    page.fill("#id_summary", "恢复社会交往，规律服药")
    page.fill("#id_goals-0-goal", "每周参加一次社交小组，主动与组员交谈")
    page.select_option("#id_services-0-service_type", "social")
    page.fill("#id_services-0-times", "1")
    page.select_option("#id_services-0-per", "week")
    page.select_option("#id_services-0-place", "site")
    page.select_option("#id_services-0-worker", str(worker.pk))
    save(page)
    assert "已保存康复计划" in message(page)
    plan = page.inner_text("section:has(h2:has-text('个性化康复计划'))")
    assert "第 1 版" in plan and "每周参加一次社交小组" in plan and "社交能力训练" in plan

    # Two group activities; the father comes to the first.
    record_activity(page, title="社交小组：认识新朋友", service_type="social", family=("赵父", "父亲"))
    assert "家属：赵父" in page.inner_text("main")
    record_activity(page, title="生活技能：超市购物", service_type="living")

    # A follow-up at home.
    page.click(f"main a:has-text('{NAME}')")
    assert page.inner_text("#case-status") == "服务中"
    assert "共 2 次" in page.inner_text("section:has(h2:has-text('服务记录'))")
    page.click("main a.button:has-text('随访')")
    page.select_option("#id_mode", "home")
    page.select_option("#id_risk_level", "0")
    page.select_option("#id_stability", "stable")
    page.select_option("#id_adherence", "regular")
    page.select_option("#id_insight", "full")  # with partial insight the rule allows at best 基本稳定
    page.fill("#id_note", "按时服药，参加小组积极")
    save(page)
    assert "已记录随访（稳定）" in message(page)
    assert "入户（居家）" in page.inner_text("section:has(h2:has-text('随访')) table")

    # Re-assessment: both scales improved.
    assess(page, "SDSS", SDSS_LATER)
    assert "社会功能缺陷筛选量表（SDSS）：1 分，无明显社会功能缺陷" in message(page)
    assess(page, "PSP", PSP_LATER, global_score=75)
    assert "个人和社会功能量表（PSP）：75 分" in message(page)
    assert page.inner_text(f"{sdss_row} td:nth-child(2)").startswith("9（")
    assert page.inner_text(f"{sdss_row} td:nth-child(3)").startswith("1（")
    assert page.inner_text(f"{sdss_row} td:nth-child(4)") == "-8"
    assert page.inner_text(f"{sdss_row} td.outcome") == "改善"
    assert page.inner_text("#outcomes tr[data-scale=psp] td:nth-child(4)") == "20"
    assert page.inner_text("#outcomes tr[data-scale=psp] td.outcome") == "改善"
    assert Case.objects.get(pk=case.pk).status == CaseStatus.ACTIVE

    # The statistics: the worker's own institution, then the district's civil affairs.
    def check_statistics():
        page.click("nav.subnav a:has-text('统计')")
        page.wait_for_selector("#kpi-enrolled")
        assert page.inner_text("#kpi-enrolled") == "1"
        assert page.inner_text("#kpi-served") == "1"
        assert page.inner_text("#kpi-activities") == "2"
        assert page.inner_text("#kpi-patient-times") == "2"
        assert page.inner_text("#kpi-family-times") == "1"
        outcomes = page.locator("table[data-table='康复效果'] tbody tr")
        sdss = outcomes.filter(has_text="SDSS").locator("td")
        assert sdss.all_inner_texts() == ["社会功能缺陷筛选量表（SDSS）", "1", "0", "0"]
        psp = outcomes.filter(has_text="PSP").locator("td")
        assert psp.all_inner_texts()[1:] == ["1", "0", "0"]
        by_type = page.locator("table[data-table='按服务类型'] tbody tr")
        assert by_type.filter(has_text="社交能力训练").locator("td").all_inner_texts()[1:] == ["1", "1", "1"]
        assert by_type.filter(has_text="生活技能训练").locator("td").all_inner_texts()[1:] == ["1", "1", "0"]

    check_statistics()
    log_out(page)
    log_in(page, base, "xiqing.mz")
    page.goto(f"{base}/rehab/")
    check_statistics()
    assert page.errors == []


PHONE = {"width": 390, "height": 844}


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_on_a_phone_the_follow_up_list_fits_the_screen_and_a_follow_up_can_be_recorded(page, live_server):
    institution = f.institution(name=INSTITUTION)
    worker = f.worker(institution, username="xiqing.rehab")
    admin = f.district_admin(username="xiqing.mz")
    overdue = dt.date.today() - dt.timedelta(days=20)
    for name in ("欧阳长名字", "赵康复"):
        f.enrolled_case(
            admin=admin,
            rehab_worker=worker,
            institution_org=institution,
            person=f.patient(name=name),
            on=overdue,
        )
    page.set_viewport_size(PHONE)
    base = live_server.url
    log_in(page, base, "xiqing.rehab")
    assert no_sideways_scroll(page)

    page.goto(f"{base}/rehab/")
    assert no_sideways_scroll(page)
    page.goto(f"{base}/rehab/follow-ups/")
    assert no_sideways_scroll(page)
    card = page.locator("#follow-ups tbody tr", has_text="赵康复")
    # Each row is a card showing the name, the date due and who is responsible, without scrolling.
    assert card.bounding_box()["width"] <= PHONE["width"]
    labels = card.locator("td").evaluate_all(
        "cells => cells.map(c => getComputedStyle(c, '::before').content.replaceAll('\"', ''))"
    )
    assert labels[1:5] == ["应随访", "稳定性", "危险性", "责任社工"] and "逾期" in card.inner_text()
    card.locator("a.button:has-text('随访')").click()
    page.wait_for_selector("#id_mode")
    assert no_sideways_scroll(page)
    page.select_option("#id_mode", "phone")
    page.select_option("#id_risk_level", "0")
    page.select_option("#id_stability", "stable")
    page.select_option("#id_adherence", "regular")
    page.select_option("#id_insight", "full")
    save(page)
    assert "已记录随访（稳定）" in message(page)
    assert page.errors == []


def test_each_radio_of_a_scale_sits_on_the_line_of_its_label(page, live_server):
    institution = f.institution(name=INSTITUTION)
    worker = f.worker(institution, username="xiqing.rehab")
    case = f.enrolled_case(admin=f.district_admin(), rehab_worker=worker, institution_org=institution)
    log_in(page, live_server.url, "xiqing.rehab")
    page.goto(f"{live_server.url}/rehab/cases/{case.pk}/assess/sdss/")
    for label in page.locator("form.assessment label:has(input[type=radio])").all()[:8]:
        radio = label.locator("input").bounding_box()
        text = label.bounding_box()
        # The label is one line high and the radio lies inside it, at its left.
        assert text["height"] < 2 * radio["height"] + 12
        assert text["y"] <= radio["y"] and radio["y"] + radio["height"] <= text["y"] + text["height"]
        assert radio["width"] < 30
