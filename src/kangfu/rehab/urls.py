from django.urls import path
from django.views.generic import RedirectView

from kangfu.rehab.views import (
    activities,
    applications,
    assessments,
    cases,
    emergency,
    enrolment,
    follow_ups,
    home,
    institutions,
    placements,
    plans,
    rosters,
    transfers,
)

app_name = "rehab"

urlpatterns = [
    path("", home.home, name="home"),
    path("applications/", applications.applications, name="applications"),
    path("applications/new/", applications.application_new, name="application_new"),
    path("applications/refer/", applications.applications_refer, name="applications_refer"),
    path("applications/<int:pk>/", applications.application_detail, name="application"),
    path("rosters/", rosters.roster_upload, name="rosters"),
    path("rosters/<int:pk>/", rosters.roster_detail, name="roster"),
    path("cases/", cases.cases, name="cases"),
    path("cases/<int:pk>/", cases.case_detail, name="case"),
    path("cases/<int:pk>/contact/", enrolment.case_contact, name="case_contact"),
    path("cases/<int:pk>/decide/", enrolment.case_decide, name="case_decide"),
    path("cases/<int:pk>/status/", cases.case_status, name="case_status"),
    path("cases/<int:pk>/enrol/", enrolment.case_enrol, name="case_enrol"),
    path("cases/<int:pk>/registration/", enrolment.case_registration, name="case_registration"),
    path(
        "cases/<int:pk>/registration/print/",
        enrolment.case_registration_print,
        name="case_registration_print",
    ),
    path("cases/<int:pk>/agreement/", enrolment.case_agreement, name="case_agreement"),
    path("cases/<int:pk>/intake/", enrolment.case_intake, name="case_intake"),
    path("cases/<int:pk>/assess/<slug:code>/", assessments.case_assess, name="case_assess"),
    path("cases/<int:pk>/plan/", plans.case_plan, name="case_plan"),
    path("cases/<int:pk>/follow-up/", follow_ups.case_follow_up, name="case_follow_up"),
    path("cases/<int:pk>/transfer/", transfers.case_transfer, name="case_transfer"),
    path("cases/<int:pk>/placement/", placements.case_placement, name="case_placement"),
    path("cases/<int:pk>/placement/<int:placement>/", placements.case_placement, name="case_placement_edit"),
    path("assessments/<int:pk>/amend/", assessments.assessment_amend, name="assessment_amend"),
    path("activities/", activities.activities, name="activities"),
    path("activities/new/", activities.activity_new, name="activity_new"),
    path("activities/<int:pk>/", activities.activity_detail, name="activity"),
    path("photos/<int:pk>/", activities.activity_photo, name="activity_photo"),
    path("follow-ups/", follow_ups.follow_ups, name="follow_ups"),
    path("transfers/", transfers.transfers, name="transfers"),
    path("transfers/new/", transfers.transfer_new, name="transfer_new"),
    path("transfers/<int:pk>/", transfers.transfer_detail, name="transfer"),
    path("emergency/", emergency.emergency, name="emergency"),
    path("institutions/", institutions.institutions, name="institutions"),
    path("institutions/<int:pk>/", institutions.institution_detail, name="institution"),
    # The statistics moved to 统计 (reports); old bookmarks and links follow, with their query string.
    path(
        "stats/",
        RedirectView.as_view(pattern_name="reports:rehab_stats", permanent=True, query_string=True),
        name="stats",
    ),
]
