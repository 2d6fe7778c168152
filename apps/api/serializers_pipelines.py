"""Shapes of SPEC §6 for pipelines, functions and releases.

Input serializers check types strictly (``"true"`` is not a boolean, ``"3000"`` not
an integer) and refuse unknown fields; limits and uniqueness are the services' job.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.triggers import TRIGGERS, canonical_trigger
from apps.pipelines.models import (
    DEFAULT_TIMEOUT_MS,
    FUNCTION_SETTINGS,
    MAX_TIMEOUT_MS,
    MIN_TIMEOUT_MS,
    Function,
    Release,
)
from apps.pipelines.selectors import MAX_VERSION
from apps.pipelines.services import MAX_COMMENT_LENGTH, MAX_DESCRIPTION_LENGTH, MAX_NAME_LENGTH

# --- strict input fields --------------------------------------------------------------


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data: Any) -> int:
        if not isinstance(data, int) or isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a typo is an error rather than ignored."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["This field is not accepted here."] for name in unknown}
                )
        return super().to_internal_value(data)


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """The checked data, or a ValidationError (a 400 ``invalid_request`` naming the fields)."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class TriggerField(serializers.ChoiceField):
    """A trigger name; an older alias (PRE_OIDCTOKENISSUED) is accepted as its canonical name."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=list(TRIGGERS), **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        return super().to_internal_value(canonical_trigger(data) if isinstance(data, str) else data)


def _code_field(**kwargs: Any) -> StrictCharField:
    # No max_length here: the limit is in UTF-8 bytes and per tenant (services check it).
    return StrictCharField(trim_whitespace=False, **kwargs)


# --- requests ---------------------------------------------------------------------------


class FunctionCreateSerializer(StrictSerializer):
    trigger = TriggerField()
    name = StrictCharField(max_length=MAX_NAME_LENGTH)
    code = _code_field()
    description = StrictCharField(
        max_length=MAX_DESCRIPTION_LENGTH, required=False, allow_blank=True, default=""
    )
    enabled = StrictBooleanField(required=False, default=True)
    is_async = StrictBooleanField(required=False, default=False)
    timeout_ms = StrictIntegerField(
        required=False,
        default=DEFAULT_TIMEOUT_MS,
        min_value=MIN_TIMEOUT_MS,
        max_value=MAX_TIMEOUT_MS,
    )
    terminate_on_timeout = StrictBooleanField(
        required=False,
        help_text=(
            "Deny the run when this function times out (otherwise it is skipped). "
            "Default: true on blocking triggers (fail closed), false on advisory ones."
        ),
    )
    publish = StrictBooleanField(required=False, default=False)
    comment = StrictCharField(
        max_length=MAX_COMMENT_LENGTH, required=False, allow_blank=True, default=""
    )


class FunctionUpdateSerializer(StrictSerializer):
    """Any subset: the draft ``code`` and/or settings, with an optional ``comment``."""

    name = StrictCharField(max_length=MAX_NAME_LENGTH, required=False)
    code = _code_field(required=False)
    description = StrictCharField(
        max_length=MAX_DESCRIPTION_LENGTH, required=False, allow_blank=True
    )
    enabled = StrictBooleanField(required=False)
    is_async = StrictBooleanField(required=False)
    timeout_ms = StrictIntegerField(
        required=False, min_value=MIN_TIMEOUT_MS, max_value=MAX_TIMEOUT_MS
    )
    terminate_on_timeout = StrictBooleanField(required=False)
    comment = StrictCharField(max_length=MAX_COMMENT_LENGTH, required=False, allow_blank=True)


class PublishSerializer(StrictSerializer):
    comment = StrictCharField(
        max_length=MAX_COMMENT_LENGTH, required=False, allow_blank=True, default=""
    )
    code = _code_field(
        required=False,
        help_text=(
            "Unsaved code to save as the draft and release together; "
            "a refused publish leaves the draft as it was."
        ),
    )


class RollbackSerializer(StrictSerializer):
    version = StrictIntegerField(min_value=1, max_value=MAX_VERSION)
    comment = StrictCharField(
        max_length=MAX_COMMENT_LENGTH, required=False, allow_blank=True, default=""
    )
    update_draft = StrictBooleanField(
        required=False,
        default=True,
        help_text="Also make the draft this version's code (default, as in Auth0).",
    )


class ReorderSerializer(StrictSerializer):
    function_ids = serializers.ListField(child=StrictCharField(max_length=40), max_length=100)


class VersionsQuerySerializer(StrictSerializer):
    before = StrictIntegerField(required=False, min_value=1, max_value=MAX_VERSION)


# --- responses --------------------------------------------------------------------------


class FunctionSerializer(serializers.ModelSerializer):
    trigger = serializers.CharField(source="pipeline.trigger", read_only=True)
    code = serializers.CharField(read_only=True, help_text="The draft.")
    live_version = serializers.IntegerField(
        source="live_release.version",
        read_only=True,
        allow_null=True,
        help_text="The version executions run; null until published.",
    )
    has_unpublished_changes = serializers.BooleanField(read_only=True)

    class Meta:
        model = Function
        fields = [
            "id",
            "trigger",
            *FUNCTION_SETTINGS,
            "position",
            "code",
            "live_version",
            "has_unpublished_changes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ReleaseSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author_label", read_only=True)
    live = serializers.SerializerMethodField()

    class Meta:
        model = Release
        fields = ["version", "code", "code_sha256", "author", "comment", "created_at", "live"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_live(self, release: Release) -> bool:
        return bool(release.pk == self.context.get("live_release_id"))


class ReleaseListSerializer(serializers.Serializer):
    results = ReleaseSerializer(many=True)
    next = serializers.CharField(allow_null=True)


class PipelineSerializer(serializers.Serializer):
    trigger = serializers.CharField()
    functions = FunctionSerializer(many=True)
    settings = serializers.DictField()


class PipelineSummarySerializer(serializers.Serializer):
    trigger = serializers.CharField()
    description = serializers.CharField()
    blocking = serializers.BooleanField()
    default_mode = serializers.ChoiceField(choices=["sync", "async"])
    function_count = serializers.IntegerField()
    settings = serializers.DictField()


class PipelineListSerializer(serializers.Serializer):
    results = PipelineSummarySerializer(many=True)
    next = serializers.CharField(allow_null=True)
