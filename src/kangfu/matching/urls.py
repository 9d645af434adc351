from django.urls import path

from kangfu.matching import views, views_agency

app_name = "matching"

urlpatterns = [
    path("", views.home, name="home"),
    path("runs/<int:pk>/", views.run_progress, name="run"),
    path("feeds/", views.feeds, name="feeds"),
    path("feeds/<int:pk>/", views.feed_detail, name="feed"),
    path("items/<int:pk>/", views.item_detail, name="item"),
    path("channels/", views_agency.channels, name="channels"),
    path("channels/<int:pk>/", views_agency.channel_action, name="channel"),
]
