from django.urls import path

from kangfu.rehab import views

app_name = "rehab"

urlpatterns = [
    path("", views.home, name="home"),
    path("applications/", views.applications, name="applications"),
    path("applications/new/", views.application_new, name="application_new"),
    path("applications/refer/", views.applications_refer, name="applications_refer"),
    path("applications/<int:pk>/", views.application_detail, name="application"),
    path("rosters/", views.roster_upload, name="rosters"),
    path("rosters/<int:pk>/", views.roster_detail, name="roster"),
    path("cases/", views.cases, name="cases"),
    path("cases/<int:pk>/", views.case_detail, name="case"),
    path("cases/<int:pk>/contact/", views.case_contact, name="case_contact"),
    path("cases/<int:pk>/decide/", views.case_decide, name="case_decide"),
    path("cases/<int:pk>/status/", views.case_status, name="case_status"),
    path("cases/<int:pk>/enrol/", views.case_enrol, name="case_enrol"),
    path("cases/<int:pk>/registration/", views.case_registration, name="case_registration"),
    path("cases/<int:pk>/agreement/", views.case_agreement, name="case_agreement"),
    path("cases/<int:pk>/intake/", views.case_intake, name="case_intake"),
    path("cases/<int:pk>/assess/<slug:code>/", views.case_assess, name="case_assess"),
    path("cases/<int:pk>/plan/", views.case_plan, name="case_plan"),
    path("cases/<int:pk>/follow-up/", views.case_follow_up, name="case_follow_up"),
    path("cases/<int:pk>/transfer/", views.case_transfer, name="case_transfer"),
    path("cases/<int:pk>/placement/", views.case_placement, name="case_placement"),
    path("cases/<int:pk>/placement/<int:placement>/", views.case_placement, name="case_placement_edit"),
    path("assessments/<int:pk>/amend/", views.assessment_amend, name="assessment_amend"),
    path("activities/", views.activities, name="activities"),
    path("activities/new/", views.activity_new, name="activity_new"),
    path("activities/<int:pk>/", views.activity_detail, name="activity"),
    path("photos/<int:pk>/", views.activity_photo, name="activity_photo"),
    path("follow-ups/", views.follow_ups, name="follow_ups"),
    path("transfers/", views.transfers, name="transfers"),
    path("transfers/new/", views.transfer_new, name="transfer_new"),
    path("transfers/<int:pk>/", views.transfer_detail, name="transfer"),
    path("emergency/", views.emergency, name="emergency"),
    path("institutions/", views.institutions, name="institutions"),
    path("institutions/<int:pk>/", views.institution_detail, name="institution"),
    path("stats/", views.stats, name="stats"),
]
