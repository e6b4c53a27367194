"""Tags tag: the tags in use."""

from __future__ import annotations

from fastapi import Request

from conduit.api.deps import get_session
from conduit.services.tags import TagService
from generated import models
from generated.interfaces import TagsApi

# The contract caps the list (maxItems) so the response stays small however many tags exist.
MAX_TAGS = 1000


class Tags(TagsApi):
    def __init__(self, service: TagService) -> None:
        self._service = service

    async def get_tags(self) -> models.TagsResponse:
        return models.TagsResponse(tags=await self._service.list_tags(limit=MAX_TAGS))


async def provide(request: Request) -> Tags:
    return Tags(TagService(await get_session(request)))
