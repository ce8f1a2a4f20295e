"""URLs of the scoring web pages."""

from django.urls import path

from scoring import monitoring_views, views

app_name = "scoring"

urlpatterns = [
    path("", views.home, name="home"),
    # Monitoring (issue #9)
    path("monitoring/", monitoring_views.monitoring_page, name="monitoring"),
]
