from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.views.generic import TemplateView

from frontend.calibration_selectors import calibration_page_config
from frontend.selectors import lab_parameter_fields, lab_presets, lab_sweep_config
from optionsbot.roles import is_operator, is_viewer
from trading.agent.state import kill_switch_payload
from trading.models import Decision
from trading.selectors.agent import agent_state_read
from trading.selectors.strategies import agent_tick_latest, strategy_list
from trading.strategies.params import LogicKind, RiskProfile

TABS = [
    ("live", "Live Agent"),
    ("strategies", "Strategies"),
    ("lab", "Backtesting Lab"),
    ("calibration", "Calibration"),
    ("research", "Research"),
    ("chat", "Chat"),
    ("training", "Training"),
]

# What each tab will do, shown plainly until it is built: no invented numbers.
PLANNED = {
    "research": "Proposals from the LLM researcher, their backtests against the current strategies, "
    "and your approval before any of them may trade.",
    "chat": "Ask the agent why it did what it did, answered from its own decisions and positions.",
    "training": "Export the agent's decisions and outcomes as training data.",
}


class DashboardMixin(LoginRequiredMixin, UserPassesTestMixin):
    tab = "live"

    def test_func(self) -> bool:
        return is_viewer(self.request.user)  # type: ignore[attr-defined]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)  # type: ignore[misc]
        context.update(tabs=TABS, active_tab=self.tab, is_operator=is_operator(self.request.user))  # type: ignore[attr-defined]
        return context


class LiveAgentView(DashboardMixin, TemplateView):
    """The agent's status, strategies, positions, decisions and log. The last tick and the kill switch
    are rendered here; the page's script fills in the rest from the API and re-renders everything
    whenever a tick or a kill-switch change is announced on the live feed."""

    tab = "live"
    template_name = "frontend/live.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            last_tick=agent_tick_latest(),
            kill_switch=kill_switch_payload(agent_state_read()),
            strategy_names=list(strategy_list().values_list("name", flat=True)),
            decision_actions=Decision.Action.choices,
            decision_verdicts=Decision.Verdict.choices,
        )
        return context


class StrategiesView(DashboardMixin, TemplateView):
    tab = "strategies"
    template_name = "frontend/strategies.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(strategies=strategy_list())
        return context


class LabView(DashboardMixin, TemplateView):
    """The Backtesting Lab: a form for a new run or a parameter sweep (operators), a run's progress
    and results, past runs and sweeps, and their comparison. The page's scripts read and write
    through the backtest API; the parameter fields come from the strategy schemas the API validates
    with, so the form states (and the sweep checks) the same bounds the API enforces."""

    tab = "lab"
    template_name = "frontend/lab.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            lab_config={
                "parameter_fields": lab_parameter_fields(),
                "presets": lab_presets(),
                "sweep": lab_sweep_config(),
                "logic_kinds": [[k.value, k.value.replace("_", " ").capitalize()] for k in LogicKind],
                "risk_profiles": [[p.value, p.value.capitalize()] for p in RiskProfile],
            }
        )
        return context


class CalibrationView(DashboardMixin, TemplateView):
    """Calibration: how far the synthetic option prices are from the market's, per expiry and bucket,
    the error over time, the parameters synthetic backtests use now and the proposed ones (approved
    by operators or by the policy), and a form to start a run (operators). The page's scripts read
    and write through the calibration API."""

    tab = "calibration"
    template_name = "frontend/calibration.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(calibration_config=calibration_page_config(operator=context["is_operator"]))
        return context


class TabView(DashboardMixin, TemplateView):
    template_name = "frontend/planned.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(tab_title=dict(TABS)[self.tab], planned=PLANNED[self.tab])
        return context
