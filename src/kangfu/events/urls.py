from django.urls import path

from kangfu.events import views

app_name = "events"

urlpatterns = [
    path("", views.webhooks, name="webhooks"),
    path("<int:pk>/", views.webhook, name="webhook"),
    path("<int:pk>/action/", views.webhook_action, name="action"),
]
