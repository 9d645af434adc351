from django.urls import path
from django.views.generic import RedirectView

from kangfu.subsidies.views import applications, grants, payroll, reviews, standards

app_name = "subsidies"

urlpatterns = [
    path("", applications.home, name="home"),
    path("applications/", applications.application_list, name="applications"),
    path("applications/batch/", applications.application_batch, name="application_batch"),
    path("applications/new/", applications.application_new, name="application_new"),
    path("applications/<int:pk>/", applications.application_detail, name="application"),
    path("applications/<int:pk>/print/", applications.application_print, name="application_print"),
    path("communities/", applications.communities, name="communities"),
    path("grants/", grants.grant_list, name="grants"),
    path("grants/<int:pk>/", grants.grant_detail, name="grant"),
    path("grants/<int:pk>/appeal/", grants.grant_appeal, name="grant_appeal"),
    path("appeals/", grants.appeal_list, name="appeals"),
    path("appeals/<int:pk>/", grants.appeal_detail, name="appeal"),
    path("appeals/<int:pk>/decide/", grants.appeal_decide, name="appeal_decide"),
    path("payroll/", payroll.payroll_list, name="payrolls"),
    path("payroll/<int:pk>/", payroll.payroll_detail, name="payroll"),
    path("payroll/<int:pk>/file.<str:fmt>", payroll.payroll_file, name="payroll_file"),
    path("recoveries/<int:pk>/repaid/", payroll.recovery_repaid, name="recovery_repaid"),
    path("standards/", standards.standard_list, name="standards"),
    path("standards/<int:pk>/close/", standards.standard_close, name="standard_close"),
    # The indicators moved to 统计 (reports); old bookmarks and links follow, with their query string.
    path(
        "indicators/",
        RedirectView.as_view(pattern_name="reports:subsidies_indicators", permanent=True, query_string=True),
        name="indicators",
    ),
    path("reviews/", reviews.reviews, name="reviews"),
    path("reviews/<int:pk>/print/", reviews.review_print, name="review_print"),
    path("visits/", reviews.visits, name="visits"),
]
