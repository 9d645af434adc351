from django.urls import path
from django.views.generic import RedirectView

from kangfu.devices import views

app_name = "devices"

urlpatterns = [
    path("", views.home, name="home"),
    path("catalogue/", views.catalogue, name="catalogue"),
    path("categories/new/", views.category_edit, name="category_new"),
    path("categories/<int:pk>/", views.category_edit, name="category_edit"),
    path("products/new/", views.product_edit, name="product_new"),
    path("products/<int:pk>/", views.product_edit, name="product_edit"),
    path("products/<int:pk>/photos/", views.product_photo, name="product_photo"),
    path("units/", views.units, name="units"),
    path("units/add/", views.units_add, name="units_add"),
    path("units/<int:pk>/", views.unit_detail, name="unit"),
    path("requests/", views.requests_list, name="requests"),
    path("requests/<int:pk>/", views.request_detail, name="request"),
    path("fittings/new/", views.fitting_new, name="fitting_new"),
    path("rentals/", views.rentals, name="rentals"),
    path("rentals/new/", views.rental_new, name="rental_new"),
    path("rentals/<int:pk>/", views.rental_detail, name="rental"),
    path("rentals/<int:pk>/<str:document>/", views.rental_print, name="rental_print"),
    # The statistics moved to 统计 (reports); old bookmarks and links follow, with their query string.
    path(
        "stats/",
        RedirectView.as_view(pattern_name="reports:devices_stats", permanent=True, query_string=True),
        name="stats",
    ),
]
