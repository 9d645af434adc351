from django.urls import path

from kangfu.reports.views import filing, stats

app_name = "reports"

urlpatterns = [
    path("", filing.overview, name="overview"),
    path("rehab/", stats.rehab_stats, name="rehab_stats"),
    path("devices/", stats.devices_stats, name="devices_stats"),
    path("subsidies/", stats.subsidies_indicators, name="subsidies_indicators"),
    path("filing/", filing.filing, name="filing"),
    path("filing/<slug:code>/<str:period>/generate/", filing.generate, name="generate"),
    path("filing/<slug:code>/<str:period>/", filing.board, name="board"),
    path("generations/<int:pk>/", filing.generation_page, name="generation"),
    path("dashboard/", filing.dashboard, name="dashboard"),
    path("r/<int:pk>/", filing.report_page, name="report"),
    path("r/<int:pk>/submit/", filing.submit, name="submit"),
    path("r/<int:pk>/correct/", filing.correct, name="correct"),
    path("r/<int:pk>/return/", filing.return_report, name="return"),
    path("r/<int:pk>/xlsx/", filing.report_xlsx, name="xlsx"),
    path("r/<int:pk>/print/", filing.report_print, name="print"),
]
