"""The triggers of SPEC §3 (plain data: the runtime and Django code share it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Trigger:
    name: str
    blocking: bool
    description: str

    @property
    def default_mode(self) -> str:
        return "sync" if self.blocking else "async"


TRIGGERS: dict[str, Trigger] = {
    t.name: t
    for t in (
        Trigger("PRE_REGISTER", True, "Before a user is created; a deny refuses the registration."),
        Trigger("POST_REGISTER", False, "After the user is saved; advisory."),
        Trigger(
            "PRE_AUTHENTICATION",
            True,
            "Credentials checked, no session yet; a deny refuses the login.",
        ),
        Trigger("POST_AUTHENTICATION", False, "After the login is recorded; advisory."),
        Trigger(
            "PRE_OIDC_ID_TOKEN_ISSUED",
            True,
            "Before an ID token is signed; may add or remove claims.",
        ),
        Trigger(
            "PRE_OIDC_ACCESS_TOKEN_ISSUED",
            True,
            "Before an access token is signed (also machine-to-machine); may add or remove claims.",
        ),
        Trigger(
            "PRE_COMPLETE_USER_INFO", True, "Before profile completion is saved; a deny refuses it."
        ),
        Trigger("PRE_MFA_VERIFY", True, "Before an MFA challenge is verified; a deny refuses it."),
        Trigger("POST_MFA_VERIFY", False, "After MFA verification; advisory."),
    )
}
TRIGGER_CHOICES = [(name, name) for name in TRIGGERS]

# Older names still found in Authing's template metadata and tenants' exports. Accepted on
# input, stored and shown under the canonical name.
TRIGGER_ALIASES: dict[str, str] = {"PRE_OIDCTOKENISSUED": "PRE_OIDC_ID_TOKEN_ISSUED"}


def canonical_trigger(name: str) -> str:
    """The canonical name for an alias; any other name unchanged (validate it separately)."""
    return TRIGGER_ALIASES.get(name, name)


def trigger_named(name: str) -> Trigger:
    """The trigger, or a 404 ``unknown_trigger`` error naming the valid ones."""
    from apps.core.errors import ServiceError

    trigger = TRIGGERS.get(canonical_trigger(name))
    if trigger is None:
        raise ServiceError(
            f"Unknown trigger {name!r}.",
            code="unknown_trigger",
            status=404,
            details={"trigger": name, "valid": list(TRIGGERS)},
        )
    return trigger
