from django.urls import path

from kangfu.exchange import views

app_name = "exchange"

urlpatterns = [
    path("", views.home, name="home"),
    path("b/<int:pk>/", views.batch_page, name="batch"),
    path("b/<int:pk>/file/", views.batch_download, name="file"),
    path("b/<int:pk>/sent/", views.batch_sent, name="sent"),
    path("b/<int:pk>/acknowledged/", views.batch_acknowledged, name="acknowledged"),
]
