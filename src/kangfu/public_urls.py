"""Pages for citizens, without an account, from every service, under one namespace."""

from kangfu.devices.public_urls import urlpatterns as devices
from kangfu.subsidies.public_urls import urlpatterns as subsidies

app_name = "public"

urlpatterns = [*devices, *subsidies]
