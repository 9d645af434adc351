from django.urls import path

from kangfu.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("filing/", views.filing, name="filing"),
    path("filing/<slug:code>/<str:period>/generate/", views.generate, name="generate"),
    path("filing/<slug:code>/<str:period>/", views.board, name="board"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("r/<int:pk>/", views.report_page, name="report"),
    path("r/<int:pk>/submit/", views.submit, name="submit"),
    path("r/<int:pk>/correct/", views.correct, name="correct"),
    path("r/<int:pk>/return/", views.return_report, name="return"),
    path("r/<int:pk>/xlsx/", views.report_xlsx, name="xlsx"),
    path("r/<int:pk>/print/", views.report_print, name="print"),
]
