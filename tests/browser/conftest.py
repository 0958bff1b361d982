"""Real-browser tests: the app as `make run` starts it, driven by headless Chromium.

Chromium is Debian's (``/usr/bin/chromium``, package ``chromium``), driven by Playwright for
Python. Without it the tests are skipped with the reason; under CI (``CI=true``) a missing browser
fails them instead, so CI cannot pass without running them. ``live_app`` starts
``manage.py run_embedded`` (web server, worker, scheduler, and whatever else it starts) on a free
port with a data folder of its own, after ``migrate`` and ``seed``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO_ROOT, _in_ci

CHROMIUM = os.environ.get("OPTIONSBOT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "browser"
ADMIN_PASSWORD = "browser-test-admin-password"
VIEWER = "vera_viewer"
VIEWER_PASSWORD = "browser-test-viewer-password"


def _unavailable(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"CI runs the browser tests, but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _unavailable(
            f"needs Debian's Chromium at {CHROMIUM}: apt-get install chromium "
            "(or set OPTIONSBOT_CHROMIUM to another Chromium binary)"
        )
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    # Module scope: Playwright's sync API keeps an event loop running in this thread while it is
    # open, which would break every asyncio test collected after the browser tests.
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("needs Playwright for Python: pip install -r requirements-dev.txt")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


# --- The app under test ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveApp:
    """The running app: where it answers, who may log in, and how to run its commands."""

    base_url: str
    admin_username: str
    admin_password: str
    viewer_username: str
    viewer_password: str
    data_dir: Path
    env: dict[str, str] = field(repr=False)
    log_path: Path = field(repr=False)

    def manage(
        self, *args: str, timeout: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run ``manage.py`` against this app's data folder and settings."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check:
            assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


def _wait_until_up(app: LiveApp, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"run_embedded exited with {process.returncode}:\n{app.log_tail()}")
        try:
            if httpx.get(f"{app.base_url}/api/health/", timeout=1).status_code in (200, 503):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the app did not answer in time:\n{app.log_tail()}")


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    data_dir = tmp_path_factory.mktemp("live-app")
    # The embedded default, as `make run` starts it: no PostgreSQL, no Redis.
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        OPTIONSBOT_DATA_DIR=str(data_dir),
        OPTIONSBOT_ADMIN_PASSWORD=ADMIN_PASSWORD,
        EMULATOR_PORT=str(_free_port()),
        PYTHONUNBUFFERED="1",
    )
    port = _free_port()
    app = LiveApp(
        base_url=f"http://127.0.0.1:{port}",
        admin_username=env.get("OPTIONSBOT_ADMIN_USER", "admin"),
        admin_password=ADMIN_PASSWORD,
        viewer_username=VIEWER,
        viewer_password=VIEWER_PASSWORD,
        data_dir=data_dir,
        env=env,
        log_path=data_dir / "run.log",
    )
    app.manage("migrate", "--no-input")
    app.manage("seed")
    app.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import Group, User; "
        f"u = User.objects.create_user({VIEWER!r}, password={VIEWER_PASSWORD!r}); "
        "u.groups.add(Group.objects.get(name='viewers'))",
    )
    with app.log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run_embedded", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_until_up(app, process, time.monotonic() + 90)
            yield app
        finally:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(app.log_path, ARTIFACTS / "run_embedded.log")


# --- Pages -------------------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name


@pytest.fixture
def new_page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """``new_page()`` opens a page in a fresh browser context (its own cookies); on a failure
    every page opened is saved as a screenshot in test-artifacts/browser/."""
    contexts: list[Any] = []
    pages: list[Any] = []

    def open_page() -> Any:
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, locale="en-US", timezone_id="UTC"
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        pages.append(page)
        return page

    errors: list[str] = []
    yield open_page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        for index, page in enumerate(pages):
            try:
                page.screenshot(path=str(artifact(f"FAILED-{slug}-{index}.png")), full_page=True)
            except Exception as exc:  # the page may be gone; the failure itself matters more
                print(f"could not save a screenshot: {exc}")
    for context in contexts:
        context.close()
    assert errors == [], f"the page raised script errors: {errors}"


def log_in(page: Any, app: LiveApp, username: str, password: str) -> None:
    """Log in through the form, as a person would, starting from the dashboard's address."""
    page.goto(app.base_url + "/")
    page.wait_for_url(re.compile(r"/login/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(app.base_url + "/")
