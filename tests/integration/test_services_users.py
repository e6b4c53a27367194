from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.core.passwords import Argon2Params, PasswordHasher
from conduit.db.models import User
from conduit.domain.errors import AlreadyExists, Forbidden, InvalidCredentials, Unauthenticated
from conduit.domain.permissions import Role
from conduit.domain.types import UserChanges
from conduit.repositories.users import UserRepository
from conduit.services.accounts import AccountService
from conduit.services.users import UserService
from tests.factories import DEFAULT_PASSWORD, Factory


@pytest.fixture
def users(session: AsyncSession, password_hasher: PasswordHasher) -> UserService:
    return UserService(session, password_hasher)


class TestRegister:
    async def test_returns_the_new_account(self, users: UserService) -> None:
        user = await users.register(username="jake", email="Jake@Example.com", password="pw")
        assert (user.username, user.email, user.bio, user.image) == (
            "jake",
            "jake@example.com",
            None,
            None,
        )
        assert user.created_at.tzinfo is not None

    async def test_taken_email_is_409_on_email_even_with_other_case(
        self, users: UserService, factory: Factory
    ) -> None:
        await factory.user("jake", email="jake@example.com")
        with pytest.raises(AlreadyExists) as caught:
            await users.register(username="other", email="JAKE@example.com", password="pw")
        assert caught.value.field == "email"

    async def test_taken_username_is_409_on_username(
        self, users: UserService, factory: Factory
    ) -> None:
        await factory.user("jake")
        with pytest.raises(AlreadyExists) as caught:
            await users.register(username="jake", email="new@example.com", password="pw")
        assert caught.value.field == "username"

    async def test_concurrent_duplicate_caught_by_constraint_is_409(
        self, session: AsyncSession, factory: Factory
    ) -> None:
        # Skips the service's early check, as a concurrent request would.
        await factory.user("jake", email="jake@example.com")
        with pytest.raises(AlreadyExists) as caught:
            await UserRepository(session).add(
                email="other@example.com", username="jake", password_hash="x"
            )
        assert caught.value.field == "username"
        # The transaction is still usable after the violation.
        assert await UserRepository(session).get_by_username("jake") is not None


class TestAuthenticate:
    async def test_right_password_returns_user(self, users: UserService, factory: Factory) -> None:
        await factory.user("jake", email="jake@example.com")
        user = await users.authenticate(email="JAKE@example.com", password=DEFAULT_PASSWORD)
        assert user.username == "jake"

    async def test_wrong_password_and_unknown_email_fail_identically(
        self, users: UserService, factory: Factory
    ) -> None:
        await factory.user("jake", email="jake@example.com")
        with pytest.raises(InvalidCredentials) as wrong:
            await users.authenticate(email="jake@example.com", password="nope")
        with pytest.raises(InvalidCredentials) as unknown:
            await users.authenticate(email="nobody@example.com", password="nope")
        assert (wrong.value.field, wrong.value.message) == (
            unknown.value.field,
            unknown.value.message,
        )

    async def test_a_banned_account_is_forbidden_only_with_the_right_password(
        self, users: UserService, factory: Factory, session: AsyncSession
    ) -> None:
        await factory.user("jake", email="jake@example.com")
        admin = await factory.viewer("admin")
        await AccountService(session).ban(replace(admin, role=Role.ADMIN), "jake")
        with pytest.raises(InvalidCredentials):
            await users.authenticate(email="jake@example.com", password="nope")
        with pytest.raises(Forbidden) as caught:
            await users.authenticate(email="jake@example.com", password=DEFAULT_PASSWORD)
        assert caught.value.field == "user"

    async def test_outdated_hash_is_upgraded_on_login(
        self, session: AsyncSession, factory: Factory
    ) -> None:
        await factory.user("jake", email="jake@example.com")
        stronger = UserService(session, PasswordHasher(Argon2Params(memory_cost=16, time_cost=2)))
        await stronger.authenticate(email="jake@example.com", password=DEFAULT_PASSWORD)
        stored = await UserRepository(session).get_by_username("jake")
        assert stored is not None
        assert "m=16,t=2" in stored.password_hash


class TestCurrentUser:
    async def test_returns_own_account(self, users: UserService, factory: Factory) -> None:
        user = await factory.user("jake")
        assert (await users.get_current(user.viewer)).email == user.email

    async def test_deleted_account_is_unauthenticated(
        self, session: AsyncSession, users: UserService, factory: Factory
    ) -> None:
        user = await factory.user("jake")
        await session.execute(delete(User).where(User.id == user.id))
        session.expunge_all()
        with pytest.raises(Unauthenticated):
            await users.get_current(user.viewer)


class TestUpdate:
    async def test_absent_fields_are_kept_and_null_clears(
        self, users: UserService, factory: Factory
    ) -> None:
        user = await factory.user(
            "jake", bio="I work at statefarm", image="https://i.example/j.png"
        )
        updated = await users.update(user.viewer, UserChanges(image=None))
        assert updated.bio == "I work at statefarm"
        assert updated.image is None

    async def test_new_password_replaces_old(self, users: UserService, factory: Factory) -> None:
        user = await factory.user("jake", email="jake@example.com")
        await users.update(user.viewer, UserChanges(password="new-password"))
        await users.authenticate(email="jake@example.com", password="new-password")
        with pytest.raises(InvalidCredentials):
            await users.authenticate(email="jake@example.com", password=DEFAULT_PASSWORD)

    async def test_email_and_username_change(self, users: UserService, factory: Factory) -> None:
        user = await factory.user("jake")
        updated = await users.update(
            user.viewer, UserChanges(email="NEW@example.com", username="jacob")
        )
        assert (updated.email, updated.username) == ("new@example.com", "jacob")
        assert updated.updated_at >= user.updated_at

    async def test_keeping_own_email_and_username_is_not_a_conflict(
        self, users: UserService, factory: Factory
    ) -> None:
        user = await factory.user("jake", email="jake@example.com")
        updated = await users.update(
            user.viewer, UserChanges(email="Jake@Example.com", username="jake", bio="hi")
        )
        assert updated.bio == "hi"

    @pytest.mark.parametrize("field", ["email", "username"])
    async def test_taking_someone_elses_identity_is_409(
        self, users: UserService, factory: Factory, field: str
    ) -> None:
        await factory.user("taken", email="taken@example.com")
        user = await factory.user("jake")
        changes = (
            UserChanges(email="taken@example.com")
            if field == "email"
            else UserChanges(username="taken")
        )
        with pytest.raises(AlreadyExists) as caught:
            await users.update(user.viewer, changes)
        assert caught.value.field == field


class TestViewerFor:
    async def test_resolves_token_subject_to_viewer(
        self, users: UserService, factory: Factory
    ) -> None:
        user = await factory.user("jake")
        viewer = await users.viewer_for(user.id, token_version=0, writing=True)
        assert viewer == user.viewer
        assert viewer.role is Role.USER

    async def test_the_role_comes_from_the_database(
        self, users: UserService, factory: Factory, session: AsyncSession
    ) -> None:
        user = await factory.user("jake")
        await AccountService(session).grant_admin("jake")
        viewer = await users.viewer_for(user.id, token_version=0, writing=False)
        assert viewer is not None
        assert viewer.role is Role.ADMIN

    async def test_unknown_id_is_unauthenticated_on_token(self, users: UserService) -> None:
        with pytest.raises(Unauthenticated) as caught:
            await users.viewer_for(999_999, token_version=0, writing=False)
        assert caught.value.field == "token"

    async def test_an_older_token_version_is_revoked(
        self, users: UserService, factory: Factory
    ) -> None:
        user = await factory.user("jake")
        await users.revoke_tokens(user.viewer)
        with pytest.raises(Unauthenticated):
            await users.viewer_for(user.id, token_version=0, writing=False)
        assert await users.viewer_for(user.id, token_version=1, writing=False) is not None

    async def test_a_banned_account_is_forbidden_to_write_and_anonymous_to_read(
        self, users: UserService, factory: Factory, session: AsyncSession
    ) -> None:
        user = await factory.user("jake")
        admin = await factory.viewer("admin")
        await AccountService(session).grant_admin("admin")
        await AccountService(session).ban(replace(admin, role=Role.ADMIN), "jake")
        for version in (0, 1):
            with pytest.raises(Forbidden) as caught:
                await users.viewer_for(user.id, token_version=version, writing=True)
            assert (caught.value.field, caught.value.message) == ("user", "is banned")
            assert await users.viewer_for(user.id, token_version=version, writing=False) is None


class TestRevocation:
    async def test_a_new_password_moves_the_token_version_on(
        self, users: UserService, factory: Factory
    ) -> None:
        user = await factory.user("jake")
        updated = await users.update(user.viewer, UserChanges(password="a new password"))
        assert updated.token_version == user.token_version + 1

    async def test_other_changes_keep_the_token_version(
        self, users: UserService, factory: Factory
    ) -> None:
        user = await factory.user("jake")
        updated = await users.update(user.viewer, UserChanges(bio="hello", username="jacob"))
        assert updated.token_version == user.token_version

    async def test_each_logout_moves_the_version_on(
        self, users: UserService, factory: Factory
    ) -> None:
        user = await factory.user("jake")
        await users.revoke_tokens(user.viewer)
        await users.revoke_tokens(user.viewer)
        assert (await users.get_current(user.viewer)).token_version == 2


class TestLoginHoldsNoConnectionWhileHashing:
    async def test_the_read_transaction_is_over_before_argon2_runs(
        self, users: UserService, factory: Factory, session: AsyncSession
    ) -> None:
        await factory.user("jake", email="jake@example.com")
        seen: list[bool] = []
        verify = users.hasher.verify

        async def spy(password: str, password_hash: str) -> tuple[bool, str | None]:
            seen.append(session.in_transaction())
            return await verify(password, password_hash)

        users.hasher = _Spy(users.hasher, spy)  # type: ignore[assignment]
        await users.authenticate(email="jake@example.com", password=DEFAULT_PASSWORD)
        assert seen == [False]


class _Spy:
    """A hasher whose ``verify`` is replaced; everything else is the real one's."""

    def __init__(self, hasher: PasswordHasher, verify: object) -> None:
        self._hasher = hasher
        self.verify = verify

    def __getattr__(self, name: str) -> object:
        return getattr(self._hasher, name)
