"""URLs of the officer pages: home, the application form, an officer's decisions, a decision, its review and
approval, and the team's referral queue."""

from django.urls import path

from scoring.decisions import views

urlpatterns = [
    path("", views.home, name="home"),
    path("applications/new/", views.application_new, name="application-new"),
    path("predictions/mine/", views.prediction_mine, name="prediction-mine"),
    path("predictions/<int:pk>/", views.prediction_detail, name="prediction-detail"),
    path("predictions/<int:pk>/review/", views.prediction_review, name="prediction-review"),
    path("predictions/<int:pk>/take/", views.referral_take, name="referral-take"),
    path("predictions/<int:pk>/approve/", views.override_approve, name="override-approve"),
    path("predictions/<int:pk>/reject/", views.override_reject, name="override-reject"),
    path("referrals/", views.referral_queue, name="referral-queue"),
]
