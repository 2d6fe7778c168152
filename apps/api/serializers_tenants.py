"""Shapes for API keys and members (owner-only endpoints)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.api.serializers_pipelines import StrictCharField, StrictSerializer
from apps.tenants.models import ALL_SCOPES, ApiKey, Member, Role
from apps.tenants.services import DEFAULT_KEY_SCOPES


class ApiKeyCreateSerializer(StrictSerializer):
    name = StrictCharField(max_length=100, required=False, allow_blank=True, default="")
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=list(ALL_SCOPES)),
        required=False,
        allow_empty=False,
        help_text=f"Default: {', '.join(DEFAULT_KEY_SCOPES)} only (least privilege).",
    )


class MemberInviteSerializer(StrictSerializer):
    identifier = StrictCharField(
        max_length=254, help_text="The user's username or email; they need an account."
    )
    role = serializers.ChoiceField(choices=list(Role.values), default=Role.VIEWER)


def _moment(value: Any) -> str | None:
    return value.isoformat() if value else None


def api_key_to_dict(api_key: ApiKey) -> dict[str, Any]:
    """A key as lists show it: never the key itself, which only its creation returns."""
    return {
        "prefix": api_key.prefix,
        "name": api_key.name,
        "scopes": list(api_key.scopes),
        "created_at": _moment(api_key.created_at),
        "last_used_at": _moment(api_key.last_used_at),
        "revoked_at": _moment(api_key.revoked_at),
        "active": api_key.is_active,
    }


def member_to_dict(member: Member) -> dict[str, Any]:
    return {
        "id": member.pk,
        "username": member.user.get_username(),
        "email": member.user.email,
        "role": member.role,
        "created_at": _moment(member.created_at),
    }
