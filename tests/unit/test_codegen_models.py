"""What the generated models guarantee: strict requests, exact timestamps, contract names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from generated import models
from generated.fields import BoolParam, IntParam, format_timestamp

NEW_ARTICLE = {"title": "How to train your dragon", "description": "Ever wonder how?", "body": "B"}


def error_types(model: type[BaseModel], payload: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(payload)
    return [str(error["type"]) for error in caught.value.errors()]


def make_profile() -> models.Profile:
    return models.Profile(username="jake", bio=None, image=None, following=False)


class TestRequestModelsAreStrict:
    def test_a_number_is_not_a_string(self) -> None:
        payload = {"user": {"email": "jake@jake.jake", "password": 12345678}}
        assert error_types(models.LoginUserRequest, payload) == ["string_type"]

    def test_a_number_is_not_a_tag(self) -> None:
        payload = {"article": {**NEW_ARTICLE, "tagList": [1]}}
        assert error_types(models.NewArticleRequest, payload) == ["string_type"]

    @pytest.mark.parametrize(
        "payload",
        [
            {"user": {"bio": "x", "admin": True}},
            {"user": {"bio": "x"}, "admin": True},
        ],
        ids=["inner", "envelope"],
    )
    def test_unknown_properties_are_refused(self, payload: dict[str, Any]) -> None:
        assert error_types(models.UpdateUserRequest, payload) == ["extra_forbidden"]

    def test_explicit_null_is_refused_where_the_schema_is_not_nullable(self) -> None:
        assert error_types(models.UpdateUserRequest, {"user": {"email": None}}) == ["value_error"]

    def test_explicit_null_is_accepted_where_the_schema_is_nullable(self) -> None:
        update = models.UpdateUserRequest.model_validate({"user": {"bio": None}})

        assert update.user.bio is None
        assert update.user.model_fields_set == {"bio"}

    def test_lengths_and_patterns_are_enforced(self) -> None:
        too_long = {"comment": {"body": "x" * 10_001}}
        blank = {"comment": {"body": "   "}}
        comma = {"article": {**NEW_ARTICLE, "tagList": ["a,b"]}}

        assert error_types(models.NewCommentRequest, too_long) == ["string_too_long"]
        assert error_types(models.NewCommentRequest, blank) == ["string_pattern_mismatch"]
        assert error_types(models.NewArticleRequest, comma) == ["string_pattern_mismatch"]

    def test_email_pattern_is_enforced(self) -> None:
        payload = {"user": {"username": "jake", "email": "not-an-email", "password": "x" * 8}}
        assert error_types(models.NewUserRequest, payload) == ["string_pattern_mismatch"]


class TestIntParam:
    @pytest.mark.parametrize(("text", "value"), [("20", 20), ("-0", 0), ("007", 7), ("+5", 5)])
    def test_digits_with_an_optional_sign_are_integers(self, text: str, value: int) -> None:
        assert TypeAdapter(IntParam).validate_python(text) == value

    @pytest.mark.parametrize("text", ["1.0", "1_000", " 1", "1 ", "1e3", "0x10", "\u0661", ""])
    def test_anything_else_is_refused(self, text: str) -> None:
        with pytest.raises(ValidationError) as caught:
            TypeAdapter(IntParam).validate_python(text)
        assert caught.value.errors()[0]["type"] == "int_parsing"

    def test_too_many_digits_is_refused_not_crashed(self) -> None:
        with pytest.raises(ValidationError) as caught:
            TypeAdapter(IntParam).validate_python("9" * 5000)
        assert caught.value.errors()[0]["type"] == "int_parsing_size"


class TestTimestamps:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (datetime(2016, 2, 18, 3, 22, 56, 637123, tzinfo=UTC), "2016-02-18T03:22:56.637Z"),
            (datetime(2016, 2, 18, 3, 22, 56, tzinfo=UTC), "2016-02-18T03:22:56.000Z"),
            (
                datetime(2016, 2, 18, 5, 22, 56, 637000, tzinfo=timezone(timedelta(hours=2))),
                "2016-02-18T03:22:56.637Z",
            ),
        ],
        ids=["milliseconds", "whole-second", "offset"],
    )
    def test_serialize_as_utc_milliseconds(self, value: datetime, expected: str) -> None:
        comment = models.Comment(
            id=1, createdAt=value, updatedAt=value, body="b", author=make_profile()
        )

        dumped = comment.model_dump(mode="json")

        assert dumped["createdAt"] == expected
        assert format_timestamp(value) == expected

    def test_remembered_strings_follow_the_instant_not_the_object(self) -> None:
        # format_timestamp remembers what it formatted; a zone-shifted equal instant must get
        # the same string and the next millisecond its own.
        instant = datetime(2016, 2, 18, 3, 22, 56, 637000, tzinfo=UTC)
        shifted = instant.astimezone(timezone(timedelta(hours=-5)))
        later = instant + timedelta(milliseconds=1)

        formatted = [format_timestamp(value) for value in (instant, shifted, later, instant)]

        assert formatted == [
            "2016-02-18T03:22:56.637Z",
            "2016-02-18T03:22:56.637Z",
            "2016-02-18T03:22:56.638Z",
            "2016-02-18T03:22:56.637Z",
        ]

    def test_naive_datetimes_are_refused(self) -> None:
        with pytest.raises(ValidationError):
            models.Comment(
                id=1,
                createdAt=datetime(2016, 2, 18),  # naive: the point of the test
                updatedAt=datetime(2016, 2, 18, tzinfo=UTC),
                body="b",
                author=make_profile(),
            )


def test_article_sort_is_a_str_enum_of_the_contract_values() -> None:
    assert {member.value for member in models.ArticleSort} == {
        "-createdAt",
        "createdAt",
        "-favoritesCount",
        "favoritesCount",
        "title",
        "-title",
    }
    assert models.ArticleSort("title") == "title"


class TestBoolParam:
    @pytest.mark.parametrize(("text", "value"), [("true", True), ("false", False)])
    def test_true_and_false_are_booleans(self, text: str, value: bool) -> None:
        assert TypeAdapter(BoolParam).validate_python(text) is value

    @pytest.mark.parametrize("text", ["1", "0", "yes", "on", "t", "True", "FALSE", "", " true"])
    def test_anything_else_is_refused(self, text: str) -> None:
        with pytest.raises(ValidationError):
            TypeAdapter(BoolParam).validate_python(text)
