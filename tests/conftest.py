"""Suite-wide fixtures.

Real Deribit data is read from the folder named by ``OPTIONSBOT_REAL_DATA``; by default the
``shared/deribit_data`` folder beside this repository. Tests that need it take the
``real_data_dir`` fixture and are skipped, with the reason, when the folder is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def real_data_path() -> Path:
    configured = os.environ.get("OPTIONSBOT_REAL_DATA")
    if configured:
        return Path(configured).expanduser().resolve()
    return (REPO_ROOT.parent / "shared" / "deribit_data").resolve()


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    path = real_data_path()
    if not (path / "svcj_deribit_snapshots_2025_2026").is_dir():
        pytest.skip(
            f"real Deribit data not found at {path}: set OPTIONSBOT_REAL_DATA to the deribit_data "
            "folder (with svcj_deribit_snapshots_2025_2026/ inside) to run this test"
        )
    return path


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The real Redis server's URL; CI must have it, elsewhere the test is skipped with the reason."""
    url = os.environ.get("REDIS_URL", "")
    if not url:
        reason = "needs a real Redis server: set REDIS_URL (e.g. redis://127.0.0.1:6379/0)"
        if _in_ci():
            pytest.fail(f"CI runs every Redis test, but {reason}")
        pytest.skip(reason)
    return url


# --- Personas: an anonymous visitor, a viewer who may read, an operator who may change ------------


@pytest.fixture
def viewer(db):  # type: ignore[no-untyped-def]
    from tests.factories import UserFactory

    return UserFactory(username="vera_viewer", groups=["viewers"])


@pytest.fixture
def operator(db):  # type: ignore[no-untyped-def]
    from tests.factories import UserFactory

    return UserFactory(username="otto_operator", groups=["operators"], is_staff=True)


@pytest.fixture
def outsider(db):  # type: ignore[no-untyped-def]
    """Logged in, but with no role: sees nothing."""
    from tests.factories import UserFactory

    return UserFactory(username="nora_norole", groups=[])


@pytest.fixture
def api_client():  # type: ignore[no-untyped-def]
    from rest_framework.test import APIClient

    return APIClient(enforce_csrf_checks=True)


@pytest.fixture
def operator_api(operator):  # type: ignore[no-untyped-def]
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(operator)
    return client


@pytest.fixture
def viewer_api(viewer):  # type: ignore[no-untyped-def]
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(viewer)
    return client


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """Close connections after each use in tests, so worker threads of async tests leave no
    session behind that would block dropping the PostgreSQL test database."""
    from django.conf import settings

    for database in settings.DATABASES.values():
        database["CONN_MAX_AGE"] = 0
