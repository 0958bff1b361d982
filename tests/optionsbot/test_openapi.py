from __future__ import annotations

from typing import Any

import pytest
import yaml
from django.core.management import call_command


def test_the_openapi_document_is_valid_and_warning_free(capsys: Any) -> None:
    # --validate checks the document against the OpenAPI 3 JSON schema; --fail-on-warn makes any
    # endpoint whose schema could not be worked out an error.
    call_command("spectacular", "--validate", "--fail-on-warn")
    document = yaml.safe_load(capsys.readouterr().out)
    assert document["openapi"].startswith("3.")
    assert "/api/strategies/{name}/enable/" in document["paths"]


@pytest.mark.django_db
def test_the_schema_endpoint_serves_the_document(client: Any) -> None:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "optionsbot API"
