from django.contrib import admin
from django.urls import include, path, re_path

from kangfu.api.api import api, not_found

admin.site.site_header = "康复服务管理平台 · 系统管理"
admin.site.site_title = "康复服务管理平台"

urlpatterns = [
    path("", include("kangfu.core.urls")),
    path("people/", include("kangfu.people.urls")),
    path("rehab/", include("kangfu.rehab.urls")),
    path("subsidies/", include("kangfu.subsidies.urls")),
    path("matching/", include("kangfu.matching.urls")),
    path("devices/", include("kangfu.devices.urls")),
    path("programme/", include("kangfu.programme.urls")),
    path("public/", include("kangfu.public_urls")),
    path("reports/", include("kangfu.reports.urls")),
    path("exchange/", include("kangfu.exchange.urls")),
    path("golive/", include("kangfu.golive.urls")),
    path("events/", include("kangfu.events.urls")),
    path("api/v1/", api.urls),
    re_path(r"^api/", not_found),
    path("admin/", admin.site.urls),
]

handler400 = "kangfu.core.views.bad_request"
handler403 = "kangfu.core.views.permission_denied"
handler404 = "kangfu.core.views.page_not_found"
handler500 = "kangfu.core.views.server_error"
