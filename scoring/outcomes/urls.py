"""URLs of the loan outcome pages: upload, template, recent uploads, audit export."""

from django.urls import path

from scoring.outcomes import views

urlpatterns = [
    path("outcomes/upload/", views.outcome_upload, name="outcome-upload"),
    path("outcomes/template.csv", views.outcome_template, name="outcome-template"),
    path("outcomes/uploads/", views.outcome_upload_list, name="outcome-upload-list"),
    path("outcomes/export.csv", views.outcome_export, name="outcome-export"),
]
