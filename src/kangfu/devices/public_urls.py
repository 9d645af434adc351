from django.urls import path

from kangfu.devices import public_views

urlpatterns = [
    path("devices/", public_views.catalogue, name="devices_catalogue"),
    path("devices/<int:product_id>/request/", public_views.request_new, name="devices_request"),
    path("devices/requests/<str:reference>/", public_views.request_done, name="devices_request_done"),
    path("devices/status/", public_views.request_status, name="devices_request_status"),
    path("devices/photos/<int:pk>/", public_views.photo, name="devices_photo"),
]
