"""URLs of the officer pages: the home page, the application form, an officer's decisions, a decision and its review."""

from django.urls import path

from scoring.decisions import views

urlpatterns = [
    path("", views.home, name="home"),
    path("applications/new/", views.application_new, name="application-new"),
    path("predictions/mine/", views.prediction_mine, name="prediction-mine"),
    path("predictions/<int:pk>/", views.prediction_detail, name="prediction-detail"),
    path("predictions/<int:pk>/review/", views.prediction_review, name="prediction-review"),
]
