"""Users tag: registration, login and the current user."""

from __future__ import annotations

from fastapi import Request

from conduit.api.deps import get_session, viewer_of
from conduit.core.security import TokenCodec
from conduit.domain.errors import Unauthenticated
from conduit.domain.types import UNSET, UserChanges, UserView, Viewer
from conduit.services.users import UserService
from generated import models
from generated.interfaces import UsersApi


def to_user_out(user: UserView, tokens: TokenCodec) -> models.UserResponse:
    return models.UserResponse(
        user=models.User(
            email=user.email,
            token=tokens.issue(user.id, version=user.token_version),
            username=user.username,
            bio=user.bio,
            image=user.image,
            role=models.Role(user.role.value),
        )
    )


def to_user_changes(update: models.UpdateUser) -> UserChanges:
    """Only the fields the client sent; an explicit null on bio/image clears it."""
    sent = update.model_fields_set
    return UserChanges(
        email=update.email if "email" in sent and update.email is not None else UNSET,
        username=update.username if "username" in sent and update.username is not None else UNSET,
        password=update.password if "password" in sent and update.password is not None else UNSET,
        bio=update.bio if "bio" in sent else UNSET,
        image=update.image if "image" in sent else UNSET,
    )


class Users(UsersApi):
    def __init__(self, service: UserService, tokens: TokenCodec, viewer: Viewer | None) -> None:
        self._service = service
        self._tokens = tokens
        self._viewer = viewer

    async def login(self, *, body: models.LoginUserRequest) -> models.UserResponse:
        credentials = body.user
        user = await self._service.authenticate(
            email=credentials.email, password=credentials.password
        )
        return to_user_out(user, self._tokens)

    async def create_user(self, *, body: models.NewUserRequest) -> models.UserResponse:
        new = body.user
        user = await self._service.register(
            username=new.username, email=new.email, password=new.password
        )
        return to_user_out(user, self._tokens)

    async def get_current_user(self) -> models.UserResponse:
        user = await self._service.get_current(self._required_viewer())
        return to_user_out(user, self._tokens)

    async def update_current_user(self, *, body: models.UpdateUserRequest) -> models.UserResponse:
        changes = to_user_changes(body.user)
        user = await self._service.update(self._required_viewer(), changes)
        return to_user_out(user, self._tokens)

    async def logout(self) -> None:
        await self._service.revoke_tokens(self._required_viewer())

    def _required_viewer(self) -> Viewer:
        # The route's security dependency already refused anonymous callers; this narrows
        # the type and keeps the binding safe if it is ever wired without one.
        if self._viewer is None:
            raise Unauthenticated("is missing or invalid", field="token")
        return self._viewer


async def provide(request: Request) -> Users:
    state = request.app.state
    session = await get_session(request)
    return Users(UserService(session, state.hasher), state.tokens, viewer_of(request))
