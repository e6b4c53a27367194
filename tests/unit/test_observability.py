from __future__ import annotations

from types import SimpleNamespace

import pytest
from starlette.datastructures import Headers

from conduit.api.observability import (
    UNMATCHED_ROUTE,
    request_id_from,
    route_template,
    viewer_id,
)
from conduit.domain.types import Viewer


class TestRouteTemplate:
    @pytest.mark.parametrize(
        ("path", "template", "expected"),
        [
            ("/api/articles/how-to", "/articles/{slug}", "/api/articles/{slug}"),
            ("/api/articles", "/articles", "/api/articles"),
            ("/healthz", "/healthz", "/healthz"),
            ("/api/openapi.json", "/api/openapi.json", "/api/openapi.json"),
        ],
    )
    def test_the_label_is_the_template_with_its_mount_prefix(
        self, path: str, template: str, expected: str
    ) -> None:
        scope = {"path": path, "route": SimpleNamespace(path=template)}
        assert route_template(scope) == expected

    def test_unmatched_paths_share_one_label(self) -> None:
        assert route_template({"path": "/random/scan"}) == UNMATCHED_ROUTE


class TestRequestId:
    def test_a_plain_client_id_is_kept(self) -> None:
        assert request_id_from(Headers({"x-request-id": "abc-123.4"})) == "abc-123.4"

    @pytest.mark.parametrize("value", ["", "a" * 129, "has space", "new\\nline", "<script>"])
    def test_an_unsafe_client_id_is_replaced(self, value: str) -> None:
        generated = request_id_from(Headers({"x-request-id": value}))
        assert generated != value
        assert len(generated) == 32

    def test_a_missing_id_is_generated(self) -> None:
        assert len(request_id_from(Headers({}))) == 32


def test_the_viewer_id_comes_from_the_request_state() -> None:
    assert viewer_id({"state": {"viewer": Viewer(id=7, username="jake")}}) == 7
    assert viewer_id({"state": {"viewer": None}}) is None
    assert viewer_id({}) is None
