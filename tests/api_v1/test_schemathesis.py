"""/api/v1 fuzzed from its own OpenAPI document (Schemathesis, bounded): with a valid key, no
input gives a 5xx, and every answer (status, content type, body) matches the document. (Unknown
query parameters are ignored, as most APIs do, so Schemathesis' negative-data check is not run.)"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ctreflex.api import build_api
from tests.api_v1.conftest import auth, make_key
from tests.conftest import RUN_DATABASE

schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", build_api())

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def fuzz_key(seeded, monkeypatch, tmp_path):
    from ctreflex.services import outbound
    from ctreflex.settings import reset_settings_cache

    # a send that passes every rule goes nowhere real: nothing listens on port 9
    monkeypatch.setenv("CTREFLEX_PUBLIC_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("CTREFLEX_MEDIA_DIR", str(tmp_path / "media"))
    monkeypatch.setenv("CTREFLEX_API_RATE_LIMIT", "100000")
    monkeypatch.setattr(outbound, "AUTO_WAKE", False)
    reset_settings_cache()
    yield make_key()
    reset_settings_cache()


@pytest.mark.parametrize("db_url", [RUN_DATABASE], indirect=True)  # once: the run's DB
@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_v1_matches_its_openapi_document(case, fuzz_key):
    case.call_and_validate(headers=auth(fuzz_key), checks=CHECKS)
