from django.urls import path

from kangfu.rehab import public_views

urlpatterns = [
    path("rehab/survey/done/", public_views.survey_done, name="rehab_survey_done"),
    path("rehab/survey/<str:token>/", public_views.survey, name="rehab_survey"),
]
