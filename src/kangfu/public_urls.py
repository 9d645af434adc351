"""Pages for citizens, without an account, from every service, under one namespace."""

from django.urls import path

from kangfu.core import views as core_views
from kangfu.devices.public_urls import urlpatterns as devices
from kangfu.rehab.public_urls import urlpatterns as rehab
from kangfu.subsidies.public_urls import urlpatterns as subsidies

app_name = "public"

urlpatterns = [
    *devices,
    *subsidies,
    *rehab,
    # asked after a few submissions in a short while (core.throttle, core.middleware)
    path("challenge/", core_views.public_challenge, name="challenge"),
]
