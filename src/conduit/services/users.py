"""Registration, login, account updates, and who a token stands for."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from conduit.core.passwords import PasswordHasher
from conduit.db.models import User
from conduit.db.types import utc_now
from conduit.domain.errors import AlreadyExists, Forbidden, InvalidCredentials, Unauthenticated
from conduit.domain.permissions import Role
from conduit.domain.types import UNSET, UserChanges, UserView, Viewer
from conduit.repositories.users import Access, KnownAccesses, UserRepository, UserValues


def normalize_email(email: str) -> str:
    """Emails are compared and stored lower-cased, so uniqueness is case-insensitive."""
    return email.strip().lower()


def to_user_view(user: User) -> UserView:
    return UserView(
        id=user.id,
        email=user.email,
        username=user.username,
        bio=user.bio,
        image=user.image,
        created_at=user.created_at,
        updated_at=user.updated_at,
        role=Role(user.role),
        token_version=user.token_version,
    )


def banned() -> Forbidden:
    """What a banned account gets on login and on every write."""
    return Forbidden("is banned", field="user")


def revoked() -> Unauthenticated:
    return Unauthenticated("is missing or invalid", field="token")


def viewer_from_access(
    access: Access | None, *, token_version: int, writing: bool
) -> Viewer | None:
    """The caller a verified token stands for, given its account's access (see ``viewer_for``)."""
    if access is None:
        raise revoked()
    if access.banned:
        if writing:
            raise banned()
        return None
    if token_version != access.token_version:
        raise revoked()
    return Viewer(id=access.id, username=access.username, role=Role(access.role))


class UserService:
    def __init__(
        self, session: AsyncSession, hasher: PasswordHasher, accesses: KnownAccesses | None = None
    ) -> None:
        self.users = UserRepository(session, accesses)
        self.hasher = hasher

    async def register(self, *, username: str, email: str, password: str) -> UserView:
        """Create an account; AlreadyExists(field="email"|"username") when taken."""
        email = normalize_email(email)
        # Hashed before the database is touched, so no connection is held while argon2 runs.
        password_hash = await self.hasher.hash(password)
        await self._ensure_free(email=email, username=username)
        user = await self.users.add(email=email, username=username, password_hash=password_hash)
        return to_user_view(user)

    async def authenticate(self, *, email: str, password: str) -> UserView:
        """Check credentials; unknown email and wrong password raise the same error.

        A banned account is refused (Forbidden) only after its password matched, so the answer
        tells a stranger nothing about the account.
        """
        user = await self.users.get_by_email(normalize_email(email))
        view = None if user is None else to_user_view(user)
        password_hash = None if user is None else user.password_hash
        is_banned = user is not None and user.banned_at is not None
        # Bends "one transaction per request" on purpose: the read is over, and argon2 takes
        # tens of milliseconds and 19 MiB per check. Holding the pooled connection (and its
        # transaction) through it let a burst of logins exhaust the pool and starve every
        # other request; the rehash below, if any, runs in a transaction of its own.
        await self.users.end_read()
        if view is None or password_hash is None:
            await self.hasher.dummy_verify(password)
            raise InvalidCredentials
        ok, new_hash = await self.hasher.verify(password, password_hash)
        if not ok:
            raise InvalidCredentials
        if is_banned:
            raise banned()
        if new_hash is not None:
            # Parameters were raised since this hash was made; upgrade it transparently.
            await self.users.set_password_hash(view.id, new_hash)
        return view

    async def viewer_for(
        self, user_id: int, *, token_version: int, writing: bool, snapshot: str | None = None
    ) -> Viewer | None:
        """The caller behind a verified token, as of ``snapshot`` if one was read for the
        request (see ``UserRepository.get_access``).

        Unauthenticated when the account is gone or the token was revoked (its version is not
        the account's). A banned account's tokens, all issued before the ban, are Forbidden on a
        write and stand for nobody (None: anonymous) on a read.
        """
        access = await self.users.get_access(user_id, snapshot=snapshot)
        return viewer_from_access(access, token_version=token_version, writing=writing)

    async def revoke_tokens(self, viewer: Viewer) -> None:
        """Log out everywhere: every token issued so far stops working."""
        await self.users.bump_token_version(await self._load(viewer))

    async def get_current(self, viewer: Viewer) -> UserView:
        """The viewer's own account; Unauthenticated if it no longer exists."""
        return to_user_view(await self._load(viewer))

    async def update(self, viewer: Viewer, changes: UserChanges) -> UserView:
        """Apply the fields that were sent; None clears bio/image, and so does an empty image."""
        user = await self._load(viewer)
        values = await self._values(user, changes)
        await self._ensure_free(email=values.get("email"), username=values.get("username"))
        values["updated_at"] = utc_now()
        await self.users.update(user, values)
        if "password_hash" in values:
            # A new password logs every other session out; the caller gets a fresh token.
            await self.users.bump_token_version(user)
        return to_user_view(user)

    async def _values(self, user: User, changes: UserChanges) -> UserValues:
        values: UserValues = {}
        if changes.email is not UNSET and normalize_email(changes.email) != user.email:
            values["email"] = normalize_email(changes.email)
        if changes.username is not UNSET and changes.username != user.username:
            values["username"] = changes.username
        if changes.password is not UNSET:
            values["password_hash"] = await self.hasher.hash(changes.password)
        if changes.bio is not UNSET:
            values["bio"] = changes.bio
        if changes.image is not UNSET:
            # The contract lets "" clear the picture, like null; store one way of saying "none".
            values["image"] = changes.image or None
        return values

    async def _load(self, viewer: Viewer) -> User:
        user = await self.users.get(viewer.id)
        if user is None:
            raise Unauthenticated("user no longer exists")
        return user

    async def _ensure_free(self, *, email: str | None = None, username: str | None = None) -> None:
        # A friendly early check; the unique constraints still catch concurrent races.
        if email is not None and await self.users.get_by_email(email) is not None:
            raise AlreadyExists(field="email")
        if username is not None and await self.users.get_by_username(username) is not None:
            raise AlreadyExists(field="username")
