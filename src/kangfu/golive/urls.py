from django.urls import path

from kangfu.golive import views

app_name = "golive"

urlpatterns = [
    path("", views.home, name="home"),
    path("jobs/<int:pk>/", views.job_detail, name="job"),
    path("jobs/<int:pk>/mapping/", views.job_mapping, name="mapping"),
    path("jobs/<int:pk>/confirm/", views.job_confirm, name="confirm"),
    path("jobs/<int:pk>/discard/", views.job_discard, name="discard"),
    path("jobs/<int:pk>/recheck/", views.job_recheck, name="recheck"),
    path("jobs/<int:pk>/errors.csv", views.job_errors, name="errors"),
    path("templates/<str:kind>.csv", views.template, name="template"),
    path("reconcile/", views.reconcile, name="reconcile"),
    path("invites/", views.invites, name="invites"),
]
