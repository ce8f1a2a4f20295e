"""URLs of the notice pages (in the ``scoring`` namespace)."""

from django.urls import path

from scoring.notices import views

urlpatterns = [
    path("predictions/<int:pk>/notice/", views.notice_new, name="notice-new"),
    path("notices/<int:notice_id>/", views.notice_detail, name="notice-detail"),
    path("notices/<int:notice_id>.pdf", views.notice_pdf, name="notice-pdf"),
]
