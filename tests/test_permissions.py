"""Every endpoint and the WebSocket, for every persona: anonymous, no role, viewer, operator.

The matrix below must name every URL under /api/ (checked against the URL resolver), so a new
endpoint cannot ship without its permissions being tested.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from optionsbot.asgi import application
from tests.backtests.factories import (
    BacktestRunFactory,
    BacktestSweepFactory,
    CalibrationParamSetFactory,
    CalibrationRunFactory,
    spec_body,
)
from tests.factories import StrategyFactory
from tests.trading.factories import (
    AgentEventFactory,
    DecisionFactory,
    FillFactory,
    OrderFactory,
    PositionFactory,
)
from trading.strategies.params import preset

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    route: str  # the resolver's pattern, to check the matrix covers every route
    public: bool = False
    writes: bool = False
    body: Any = None


def _create_body() -> dict[str, Any]:
    return {
        "name": "perm_new",
        "logic_kind": "covered_call",
        "underlyings": ["BTC"],
        "option_types": ["call"],
        "parameters": preset("covered_call", "conservative"),
    }


DECISION_ID = 4242
RUN_ID = 4243
SWEEP_ID = 4244
CALIBRATION_ID = 4245
PARAM_SET_ID = 4246

ENDPOINTS = [
    Endpoint("get", "/api/health/", "api/health/", public=True),
    Endpoint("get", "/api/schema/", "api/schema/", public=True),
    Endpoint("get", "/api/docs/", "api/docs/", public=True),
    Endpoint("get", "/api/", "api/"),
    Endpoint("get", "/api/strategies/", "api/strategies/"),
    Endpoint("post", "/api/strategies/", "api/strategies/", writes=True, body=_create_body),
    Endpoint("get", "/api/strategies/perm_cc/", "api/strategies/<name>/"),
    Endpoint(
        "patch",
        "/api/strategies/perm_cc/",
        "api/strategies/<name>/",
        writes=True,
        body=lambda: {"description": "x"},
    ),
    Endpoint("post", "/api/strategies/perm_cc/enable/", "api/strategies/<name>/enable/", writes=True),
    Endpoint("post", "/api/strategies/perm_cc/disable/", "api/strategies/<name>/disable/", writes=True),
    Endpoint("get", "/api/agent/status/", "api/agent/status/"),
    Endpoint(
        "post",
        "/api/agent/kill-switch/engage/",
        "api/agent/kill-switch/engage/",
        writes=True,
        body=lambda: {"reason": "permission test"},
    ),
    Endpoint("post", "/api/agent/kill-switch/reset/", "api/agent/kill-switch/reset/", writes=True),
    Endpoint("get", "/api/agent/strategies/", "api/agent/strategies/"),
    Endpoint("get", "/api/agent/events/", "api/agent/events/"),
    Endpoint("get", "/api/decisions/", "api/decisions/"),
    Endpoint("get", f"/api/decisions/{DECISION_ID}/", "api/decisions/<pk>/"),
    Endpoint("get", "/api/orders/", "api/orders/"),
    Endpoint("get", "/api/fills/", "api/fills/"),
    Endpoint("get", "/api/positions/", "api/positions/"),
    Endpoint("get", "/api/backtests/", "api/backtests/"),
    Endpoint("post", "/api/backtests/", "api/backtests/", writes=True, body=spec_body),
    Endpoint("get", f"/api/backtests/{RUN_ID}/", "api/backtests/<pk>/"),
    Endpoint("get", f"/api/backtests/{RUN_ID}/equity/", "api/backtests/<pk>/equity/"),
    Endpoint("get", f"/api/backtests/{RUN_ID}/trades/", "api/backtests/<pk>/trades/"),
    Endpoint("post", f"/api/backtests/{RUN_ID}/cancel/", "api/backtests/<pk>/cancel/", writes=True),
    Endpoint("get", "/api/backtests/metrics/", "api/backtests/metrics/"),
    Endpoint("get", f"/api/backtests/compare/?ids={RUN_ID}", "api/backtests/compare/"),
    Endpoint("get", "/api/backtests/sweeps/", "api/backtests/sweeps/"),
    Endpoint(
        "post",
        "/api/backtests/sweeps/",
        "api/backtests/sweeps/",
        writes=True,
        body=lambda: {"name": "perm sweep", "base": spec_body(), "grid": {"delta_max": [0.2, 0.3]}},
    ),
    Endpoint("get", f"/api/backtests/sweeps/{SWEEP_ID}/", "api/backtests/sweeps/<pk>/"),
    Endpoint("get", "/api/calibration/runs/", "api/calibration/runs/"),
    Endpoint(
        "post",
        "/api/calibration/runs/",
        "api/calibration/runs/",
        writes=True,
        body=lambda: {"source": "live", "currencies": ["BTC"]},
    ),
    Endpoint("get", f"/api/calibration/runs/{CALIBRATION_ID}/", "api/calibration/runs/<pk>/"),
    Endpoint(
        "post",
        f"/api/calibration/runs/{CALIBRATION_ID}/cancel/",
        "api/calibration/runs/<pk>/cancel/",
        writes=True,
    ),
    Endpoint("get", "/api/calibration/params/", "api/calibration/params/"),
    Endpoint(
        "post",
        f"/api/calibration/params/{PARAM_SET_ID}/approve/",
        "api/calibration/params/<pk>/approve/",
        writes=True,
    ),
]


def _api_routes() -> set[str]:
    routes: set[str] = set()

    def walk(patterns: list[Any], prefix: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                routes.add(prefix + str(p.pattern))

    walk(get_resolver().url_patterns, "")
    return {
        r.replace("(?P<pk>[^/.]+)", "<pk>")
        .replace("^", "")
        .replace("$", "")
        .replace("(?P<name>[a-z0-9][a-z0-9_\\-]*)", "<name>")
        for r in routes
        if r.startswith("api/") and "format" not in r and "\\.(?P" not in r
    }


def test_the_matrix_names_every_api_route() -> None:
    assert _api_routes() == {e.route for e in ENDPOINTS}


@pytest.fixture
def strategy() -> None:
    cc = StrategyFactory(name="perm_cc")
    decision = DecisionFactory(pk=DECISION_ID, strategy=cc)
    FillFactory(order=OrderFactory(decision=decision))
    PositionFactory(strategy=cc)
    AgentEventFactory()
    BacktestRunFactory(pk=RUN_ID, sweep=BacktestSweepFactory(pk=SWEEP_ID))  # queued: it may be cancelled
    CalibrationRunFactory(pk=CALIBRATION_ID)  # queued: it may be cancelled
    CalibrationParamSetFactory(pk=PARAM_SET_ID)  # proposed: it may be approved


def _call(client: APIClient, endpoint: Endpoint) -> int:
    body = endpoint.body() if callable(endpoint.body) else endpoint.body
    response = getattr(client, endpoint.method)(endpoint.path, body, format="json")
    return int(response.status_code)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
def test_anonymous(endpoint: Endpoint, strategy: None) -> None:
    status = _call(APIClient(enforce_csrf_checks=True), endpoint)
    if endpoint.public:
        assert status == 200
    else:
        assert status in (401, 403)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
def test_user_without_role_sees_nothing(endpoint: Endpoint, strategy: None, outsider: Any) -> None:
    client = APIClient()
    client.force_authenticate(outsider)
    status = _call(client, endpoint)
    assert status == 200 if endpoint.public else status == 403


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
def test_viewer_reads_but_cannot_change(endpoint: Endpoint, strategy: None, viewer_api: APIClient) -> None:
    status = _call(viewer_api, endpoint)
    assert status == 403 if endpoint.writes else status == 200


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
def test_operator_may_do_everything(endpoint: Endpoint, strategy: None, operator_api: APIClient) -> None:
    assert _call(operator_api, endpoint) in (200, 201)


def test_token_authentication_carries_the_role(strategy: None, viewer: Any) -> None:
    token = Token.objects.create(user=viewer)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/strategies/").status_code == 200
    assert client.post("/api/strategies/perm_cc/disable/").status_code == 403


def test_session_writes_need_the_csrf_token(strategy: None, operator: Any) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(operator)
    response = client.post("/api/strategies/perm_cc/disable/")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


# --- Dashboard pages --------------------------------------------------------------------------

PAGES = ["/", "/strategies/", "/lab/", "/calibration/", "/research/", "/chat/", "/training/"]


@pytest.mark.parametrize("page", PAGES)
def test_pages_send_anonymous_visitors_to_login(client: Any, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 302 and response.url.startswith("/login/")


@pytest.mark.parametrize("page", PAGES)
def test_pages_refuse_users_without_a_role(client: Any, outsider: Any, page: str) -> None:
    client.force_login(outsider)
    assert client.get(page).status_code == 403


@pytest.mark.parametrize("page", PAGES)
def test_pages_open_for_viewers(client: Any, viewer: Any, page: str) -> None:
    client.force_login(viewer)
    assert client.get(page).status_code == 200


def test_admin_is_for_staff_only(client: Any, viewer: Any) -> None:
    client.force_login(viewer)
    assert client.get("/admin/").status_code == 302


# --- WebSocket --------------------------------------------------------------------------------


def _session_headers(user: Any, origin: bytes) -> list[tuple[bytes, bytes]]:
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"].value
    return [(b"origin", origin), (b"host", b"127.0.0.1"), (b"cookie", f"sessionid={cookie}".encode())]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("persona", "accepted", "close_code"),
    [("anonymous", False, 4401), ("outsider", False, 4403), ("viewer", True, None), ("operator", True, None)],
)
async def test_websocket_permissions(persona: str, accepted: bool, close_code: int | None) -> None:
    from channels.db import database_sync_to_async

    from tests.factories import UserFactory

    groups = {"anonymous": None, "outsider": [], "viewer": ["viewers"], "operator": ["operators"]}[persona]
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    if groups is not None:
        user = await database_sync_to_async(UserFactory)(username=f"ws_{persona}", groups=groups)
        headers = await database_sync_to_async(_session_headers)(user, b"http://127.0.0.1")
    communicator = WebsocketCommunicator(application, "/ws/live/", headers=headers)
    connected, code = await communicator.connect()
    if accepted:
        assert connected
        hello = await communicator.receive_json_from()
        assert hello == {"type": "hello", "user": f"ws_{persona}"}
        await communicator.disconnect()
    else:
        # Accepted-then-closed or refused at the handshake: either way, no data and our close code.
        if connected:
            output = await communicator.receive_output()
            assert output == {"type": "websocket.close", "code": close_code}
        else:
            assert code == close_code


@pytest.mark.django_db(transaction=True)
async def test_websocket_refuses_foreign_origins_even_for_operators() -> None:
    from channels.db import database_sync_to_async

    from tests.factories import UserFactory

    user = await database_sync_to_async(UserFactory)(username="ws_origin", groups=["operators"])
    headers = await database_sync_to_async(_session_headers)(user, b"https://evil.example")
    communicator = WebsocketCommunicator(application, "/ws/live/", headers=headers)
    connected, _ = await communicator.connect()
    assert not connected


def test_anonymous_user_model_is_not_a_viewer() -> None:
    from optionsbot.roles import is_operator, is_viewer

    assert not is_viewer(AnonymousUser()) and not is_operator(AnonymousUser())
