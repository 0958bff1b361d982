from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from backtests.api.calibration_views import CalibrationParamSetViewSet, CalibrationRunViewSet
from backtests.api.views import BacktestRunViewSet, BacktestSweepViewSet
from optionsbot.views import HealthView
from trading.api.agent_views import (
    AgentEventViewSet,
    AgentStatusView,
    DecisionViewSet,
    FillViewSet,
    KillSwitchEngageView,
    KillSwitchResetView,
    OrderViewSet,
    PositionViewSet,
    StrategyStatusView,
)
from trading.api.views import StrategyViewSet

router = DefaultRouter()
router.register("strategies", StrategyViewSet, basename="strategy")
router.register("decisions", DecisionViewSet, basename="decision")
router.register("orders", OrderViewSet, basename="order")
router.register("fills", FillViewSet, basename="fill")
router.register("positions", PositionViewSet, basename="position")
router.register("agent/events", AgentEventViewSet, basename="agent-event")
# Sweeps before runs: "backtests/sweeps/" must not be read as the run with id "sweeps".
router.register("backtests/sweeps", BacktestSweepViewSet, basename="backtest-sweep")
router.register("backtests", BacktestRunViewSet, basename="backtest")
router.register("calibration/runs", CalibrationRunViewSet, basename="calibration-run")
router.register("calibration/params", CalibrationParamSetViewSet, basename="calibration-params")

api_patterns: list[URLPattern | URLResolver] = [
    path("health/", HealthView.as_view(), name="health"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("agent/status/", AgentStatusView.as_view(), name="agent-status"),
    path("agent/kill-switch/engage/", KillSwitchEngageView.as_view(), name="kill-switch-engage"),
    path("agent/kill-switch/reset/", KillSwitchResetView.as_view(), name="kill-switch-reset"),
    path("agent/strategies/", StrategyStatusView.as_view(), name="strategy-status"),
    path("", include(router.urls)),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include((api_patterns, "api"))),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("frontend.urls")),
]
