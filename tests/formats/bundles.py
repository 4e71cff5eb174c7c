"""STIX bundles for the tests of service.formats and of POST /v1/import/stix."""

from __future__ import annotations

from typing import Any

WIRE = "identity--2f8a3b6c-0c1d-4e5f-8a9b-0c1d2e3f4a5b"
BLOG = "identity--9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"


def foreign_bundle(**note: Any) -> dict[str, Any]:
    """A bundle as another tool (OpenCTI) writes it, with no x_credence_* properties: a
    report by WIRE (objects.3), a note by BLOG (objects.4) that ``note`` changes."""
    author, other = WIRE, BLOG
    common = {
        "spec_version": "2.1",
        "created": "2024-02-01T00:00:00Z",
        "modified": "2024-02-01T00:00:00Z",
    }
    return {
        "type": "bundle",
        "id": "bundle--0f0e0d0c-0b0a-4909-8807-060504030201",
        "objects": [
            {
                "type": "identity",
                "id": author,
                "name": "Wire",
                "identity_class": "organization",
                "x_opencti_reliability": "B - Usually reliable",
                **common,
            },
            {"type": "identity", "id": other, "name": "Blog", "confidence": 30, **common},
            {
                "type": "identity",
                "id": "identity--11111111-2222-4333-8444-555555555555",
                "name": "Unused",
                **common,
            },
            {
                "type": "report",
                "id": "report--aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
                "name": "Port closed",
                "description": "The port closed on Monday.",
                "published": "2024-02-01T00:00:00Z",
                "object_refs": [author],
                "created_by_ref": author,
                "confidence": 70,
                "labels": ["ports"],
                "external_references": [{"source_name": "wire", "url": "https://wire.example/1"}],
                **common,
            },
            {
                "type": "note",
                "id": "note--aaaaaaaa-bbbb-4ccc-8ddd-ffffffffffff",
                "content": "The port reopened.",
                "object_refs": [author],
                "created_by_ref": other,
                "confidence": 0,
                **common,
                **note,
            },
            {"type": "indicator", "id": "indicator--aaaaaaaa-bbbb-4ccc-8ddd-000000000000"},
        ],
    }
