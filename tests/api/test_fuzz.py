"""Property-based fuzzing of the API from its own OpenAPI document (schemathesis).

Every generated request, valid or not, must get an answer that is no server error and that
conforms to the documented responses (status codes, schemas, content type). The document is
the one the service serves at /openapi.json (checked equal below); the calls go to real
gunicorn.
"""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from pose_service.api.openapi import openapi_document

pytestmark = pytest.mark.service  # real programs (gunicorn, nginx, MediaPipe): the service tier

schema = schemathesis.openapi.from_dict(openapi_document())


def test_the_fuzzed_document_is_the_served_one(replay_service):
    served = requests.get(replay_service.url + "/openapi.json", timeout=5).json()
    assert served == openapi_document()


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_answers_with_a_server_error(case, replay_service):
    # A schema cannot say "base64 of a decodable picture", so a schema-valid request with a
    # random string as image is rightly refused (400): that one check does not apply.
    case.call_and_validate(base_url=replay_service.url, excluded_checks=[positive_data_acceptance])
