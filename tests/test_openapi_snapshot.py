"""The committed OpenAPI document is the contract integrators code against; it must match.

After a deliberate API change, regenerate it:
    quanzi manage export_openapi_schema --api quanzi.api.v1.api --indent 2 --sorted \
        --output docs/openapi.json
"""

import json
from pathlib import Path

SNAPSHOT = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"


def test_openapi_document_matches_committed_snapshot(client):
    served = client.get("/api/v1/openapi.json").json()

    assert served == json.loads(SNAPSHOT.read_text()), (
        "The API changed; regenerate docs/openapi.json (see this test's docstring) and review it."
    )


def test_every_operation_documents_the_error_shape():
    schema = json.loads(SNAPSHOT.read_text())
    assert "ErrorOut" in schema["components"]["schemas"]
    writes = [
        (path, method)
        for path, ops in schema["paths"].items()
        for method in ops
        if method in {"post", "put", "patch", "delete"}
    ]
    assert writes, "the API has write operations"
    for path, method in writes:
        responses = schema["paths"][path][method]["responses"]
        assert "422" in responses, f"{method.upper()} {path} does not document its 422"


def test_operation_ids_are_the_handler_names_and_unique():
    schema = json.loads(SNAPSHOT.read_text())
    ids = [op["operationId"] for ops in schema["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)), "two handlers share a name; rename one"
    assert "membership_pay" in ids
    assert all("." not in i and not i.startswith("quanzi_") for i in ids)
