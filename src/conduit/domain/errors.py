"""Every failure the API can express.

`api/errors.py` maps each class to an HTTP status and renders
`{"errors": {<field>: [<message>]}}`; the lookup should walk the MRO so
subclasses (e.g. `InvalidCredentials`) inherit their parent's status.
"""

from __future__ import annotations

from typing import ClassVar


class ConduitError(Exception):
    """Base class; `field` is the error-body key, `message` the human text."""

    default_field: ClassVar[str] = "body"
    default_message: ClassVar[str] = "request failed"

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.field: str = field or self.default_field
        self.message: str = message or self.default_message
        super().__init__(f"{self.field}: {self.message}")


class NotFound(ConduitError):
    """404: the addressed resource does not exist."""

    default_message = "not found"


class AlreadyExists(ConduitError):
    """409: a uniqueness rule would be broken."""

    default_message = "has already been taken"


class Forbidden(ConduitError):
    """403: authenticated, but not allowed to do this."""

    default_message = "is not allowed"


class Unauthenticated(ConduitError):
    """401: no valid identity."""

    default_message = "authentication required"


class InvalidCredentials(Unauthenticated):
    """401 on login; one message for unknown email and wrong password alike."""

    default_field = "credentials"
    default_message = "email or password is invalid"


class ValidationFailed(ConduitError):
    """422: input the contract allows but a business rule rejects."""

    default_message = "is invalid"


class RateLimited(ConduitError):
    """429: too many requests; `retry_after` seconds feeds the Retry-After header."""

    default_message = "too many requests"

    def __init__(
        self,
        message: str | None = None,
        *,
        field: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after


class RequestInProgress(ConduitError):
    """409: another request with the same idempotency key has not finished yet."""

    default_field = "Idempotency-Key"
    default_message = "is in use by a request that has not finished; retry shortly"


class CreatedResourceGone(ConduitError):
    """409: the request an idempotency key names created something that was deleted since.

    Replaying its 201 would announce a resource that no longer exists; running it again would
    break the key's promise to create at most once. The client decides, with a new key.
    """

    default_field = "Idempotency-Key"
    default_message = (
        "created a resource that has since been deleted; send a new key to create it again"
    )


class PreconditionFailed(ConduitError):
    """412: the resource is no longer in the state the request's precondition names."""

    default_field = "If-Match"
    default_message = "does not match the current version of the article"
