from django.urls import path

from kangfu.programme import views

app_name = "programme"

urlpatterns = [
    path("", views.contracts, name="contracts"),
    path("contracts/new/", views.contract_new, name="contract_new"),
    path("contracts/<int:pk>/", views.contract_detail, name="contract"),
    path("contracts/<int:pk>/milestones/", views.milestone_new, name="milestone_new"),
    path("milestones/<int:pk>/request/", views.milestone_request, name="milestone_request"),
    path("funds/", views.funds, name="funds"),
    path("funds/new/", views.fund_new, name="fund_new"),
    path("funds/<int:pk>/", views.fund_detail, name="fund"),
    path("funds/<int:pk>/adjust/", views.fund_adjust, name="fund_adjust"),
    path("payments/", views.payments, name="payments"),
    path("payments/<int:pk>/", views.payment_detail, name="payment"),
    path("payments/<int:pk>/approve/", views.payment_approve, name="payment_approve"),
    path("payments/<int:pk>/reject/", views.payment_reject, name="payment_reject"),
]
