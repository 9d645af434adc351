from django.urls import path

from kangfu.subsidies import public_views

urlpatterns = [
    path("subsidies/apply/", public_views.apply, name="subsidies_apply"),
    path("subsidies/communities/", public_views.communities, name="subsidies_communities"),
    path("subsidies/applications/<str:number>/", public_views.done, name="subsidies_done"),
    path("subsidies/status/", public_views.status, name="subsidies_status"),
]
