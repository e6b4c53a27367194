"""Tags tag: the tags in use."""

from __future__ import annotations

from conduit.api.deps import SessionDep
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


async def provide(session: SessionDep) -> Tags:
    return Tags(TagService(session))
