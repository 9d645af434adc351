from django.urls import path

from kangfu.subsidies import views

app_name = "subsidies"

urlpatterns = [
    path("", views.home, name="home"),
    path("applications/", views.application_list, name="applications"),
    path("applications/new/", views.application_new, name="application_new"),
    path("applications/<int:pk>/", views.application_detail, name="application"),
    path("communities/", views.communities, name="communities"),
    path("grants/", views.grant_list, name="grants"),
    path("grants/<int:pk>/", views.grant_detail, name="grant"),
    path("grants/<int:pk>/appeal/", views.grant_appeal, name="grant_appeal"),
    path("appeals/", views.appeal_list, name="appeals"),
    path("appeals/<int:pk>/", views.appeal_detail, name="appeal"),
    path("appeals/<int:pk>/decide/", views.appeal_decide, name="appeal_decide"),
    path("payroll/", views.payroll_list, name="payrolls"),
    path("payroll/<int:pk>/", views.payroll_detail, name="payroll"),
    path("payroll/<int:pk>/file.<str:fmt>", views.payroll_file, name="payroll_file"),
    path("recoveries/<int:pk>/repaid/", views.recovery_repaid, name="recovery_repaid"),
    path("standards/", views.standard_list, name="standards"),
    path("standards/<int:pk>/close/", views.standard_close, name="standard_close"),
    path("indicators/", views.indicator_page, name="indicators"),
    path("reviews/", views.reviews, name="reviews"),
    path("visits/", views.visits, name="visits"),
]
