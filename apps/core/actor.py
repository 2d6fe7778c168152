"""Who made a change: a console user or an API key. Recorded on audit events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Actor:
    user: Any | None  # a django.contrib.auth user, or None for keys and the system
    label: str

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(user=None, label=label)

    @classmethod
    def for_user(cls, user: Any) -> Actor:
        return cls(user=user, label=user.get_username())
