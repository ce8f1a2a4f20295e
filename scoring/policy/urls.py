"""URLs of the credit policy pages: simulating a version on history and reading the reports."""

from django.urls import path

from scoring.policy import views

urlpatterns = [
    path("policy/<int:version_id>/simulate/", views.policy_simulate, name="policy-simulate"),
    path("policy/simulations/<int:simulation_id>/", views.simulation_detail, name="policy-simulation"),
    path("policy/simulations/<int:simulation_id>/rerun/", views.simulation_rerun, name="policy-simulation-rerun"),
]
