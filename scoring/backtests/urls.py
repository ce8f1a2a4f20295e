"""URLs of the backtest pages, under monitoring: ask for a backtest, follow it, read its report."""

from django.urls import path

from scoring.backtests import views

urlpatterns = [
    path("monitoring/backtests/", views.backtest_list, name="backtests"),
    path("monitoring/backtests/<int:backtest_id>/", views.backtest_detail, name="backtest-detail"),
    path("monitoring/backtests/<int:backtest_id>/rerun/", views.backtest_rerun, name="backtest-rerun"),
]
