from django.urls import path

from kangfu.people import views

app_name = "people"

urlpatterns = [
    path("", views.person_list, name="list"),
    path("export/", views.person_export, name="export"),
    path("new/", views.person_create, name="create"),
    path("communities/", views.community_options, name="communities"),
    path("<int:pk>/", views.person_detail, name="detail"),
    path("<int:pk>/edit/", views.person_edit, name="edit"),
    path("<int:pk>/reveal/<str:field>/", views.person_reveal, name="reveal"),
    path("<int:pk>/guardians/add/", views.guardian_add, name="guardian_add"),
    path("<int:pk>/guardians/<int:item>/delete/", views.guardian_delete, name="guardian_delete"),
    path("<int:pk>/certificates/add/", views.certificate_add, name="certificate_add"),
    path("<int:pk>/certificates/<int:item>/cancel/", views.certificate_cancel, name="certificate_cancel"),
    path("<int:pk>/income/add/", views.income_add, name="income_add"),
    path("<int:pk>/income/<int:item>/end/", views.income_end, name="income_end"),
    path("<int:pk>/events/add/", views.life_event_add, name="life_event_add"),
]
