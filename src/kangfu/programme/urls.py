from django.urls import path

from kangfu.programme.views import contracts, supervision

app_name = "programme"

urlpatterns = [
    path("", contracts.contracts, name="contracts"),
    path("contracts/new/", contracts.contract_new, name="contract_new"),
    path("contracts/<int:pk>/", contracts.contract_detail, name="contract"),
    path("contracts/<int:pk>/milestones/", contracts.milestone_new, name="milestone_new"),
    path("milestones/<int:pk>/request/", contracts.milestone_request, name="milestone_request"),
    path("funds/", contracts.funds, name="funds"),
    path("funds/new/", contracts.fund_new, name="fund_new"),
    path("funds/<int:pk>/", contracts.fund_detail, name="fund"),
    path("funds/<int:pk>/adjust/", contracts.fund_adjust, name="fund_adjust"),
    path("payments/", contracts.payments, name="payments"),
    path("payments/<int:pk>/", contracts.payment_detail, name="payment"),
    path("payments/<int:pk>/approve/", contracts.payment_approve, name="payment_approve"),
    path("payments/<int:pk>/reject/", contracts.payment_reject, name="payment_reject"),
    path("visits/", supervision.visits, name="visits"),
    path("visits/new/<int:version_pk>/", supervision.visit_new, name="visit_new"),
    path("visits/<int:pk>/", supervision.visit_detail, name="visit"),
    path("findings/<int:pk>/answer/", supervision.finding_answer, name="finding_answer"),
    path("findings/<int:pk>/verify/", supervision.finding_verify, name="finding_verify"),
    path("findings/<int:pk>/reopen/", supervision.finding_reopen, name="finding_reopen"),
    path("findings/<int:pk>/photos/", supervision.finding_photo_add, name="finding_photo_add"),
    path("photos/<int:pk>/", supervision.finding_photo, name="finding_photo"),
    path("assessment/", supervision.assessment, name="assessment"),
    path("checklists/", supervision.checklists, name="checklists"),
    path("checklists/new/", supervision.checklist_new, name="checklist_new"),
    path("checklists/<int:pk>/", supervision.checklist_detail, name="checklist"),
    path("checklists/<int:pk>/revise/", supervision.checklist_revise, name="checklist_revise"),
]
