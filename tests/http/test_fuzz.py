"""schemathesis against the OpenAPI document of a real `weir serve`, over a socket.

Bounded: a fixed number of generated cases per operation, so the suite stays fast. Every
response must be a non-5xx that matches the document (status, content type, schema).
(schemathesis's own pytest plugin does not run on pytest 9, so the operations are driven
with hypothesis directly.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks

from tests.helpers import WeirProcess
from weir.http.openapi.document import ROUTES


@pytest.fixture(scope="module")
def fuzz_schema(tmp_path_factory):
    proc = WeirProcess(tmp_path_factory.mktemp("fuzz") / "data")
    proc.start()
    # Seed one metric so the read routes have something to find as well as to miss.
    proc.http.post("/metrics", {"metrics": [{"name": "cpu", "value": 1, "dimensions": {"host": "a"}}]})
    yield schemathesis.openapi.from_url(f"{proc.url}/openapi.json")
    proc.stop()


# Remote write/read bodies (snappy-compressed protobuf): random bytes, and random bytes snappy-compressed,
# so that some reach the protobuf decoders.
schemathesis.openapi.media_type(
    "application/x-protobuf", st.binary(max_size=300) | st.binary(max_size=300).map(lambda b: _snappy(b)))


def _snappy(data: bytes) -> bytes:
    from weir.wire.pb import snappy

    return snappy(data)


# Not `positive_data_acceptance`: a schema-valid query can still be refused for reasons a
# schema cannot state (end before start, more than 100,000 periods), with a 400 that says so.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    checks.negative_data_rejection,
]


@pytest.mark.parametrize("method, path", sorted(ROUTES), ids=lambda x: x)
def test_api_conforms_to_its_document(fuzz_schema, method, path):
    operation = fuzz_schema[path][method.upper()]

    @given(case=operation.as_strategy())
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case):
        case.call_and_validate(checks=CHECKS)

    check()
