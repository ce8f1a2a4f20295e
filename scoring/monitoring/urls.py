"""URL of the monitoring page; the Prometheus scrape endpoint sits outside the app namespace (creditscore/urls.py)."""

from django.urls import path

from scoring.monitoring import views

urlpatterns = [
    path("monitoring/", views.monitoring_page, name="monitoring"),
    path("monitoring/challenger/", views.challenger_page, name="monitoring-challenger"),
]
