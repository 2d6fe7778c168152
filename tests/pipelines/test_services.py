"""Services: drafts, releases, rollback, reorder, limits, history and audit."""

from __future__ import annotations

from typing import Any

import pytest
from reversion.models import Version

from apps.audit.models import AuditEvent, AuditKind
from apps.core.actor import Actor
from apps.core.errors import Conflict, NotFound, ServiceError
from apps.pipelines import services
from apps.pipelines.models import Function, Release
from apps.pipelines.selectors import (
    function_draft_history,
    function_for_tenant,
    functions_for_pipeline,
    pipeline_for_tenant,
)
from apps.tenants.models import Tenant
from tests.conftest import Persona
from tests.pipelines.conftest import ALLOW, DENY, tagging

pytestmark = pytest.mark.django_db


def live_code(function: Function) -> str | None:
    """The code an execution runs: the live release's, read fresh from the database."""
    function = Function.objects.select_related("live_release").get(pk=function.pk)
    return function.live_release.code if function.live_release else None


def config_version(tenant: Tenant) -> int:
    return Tenant.objects.get(pk=tenant.pk).config_version


def kinds(tenant: Tenant) -> list[str]:
    return list(
        AuditEvent.objects.filter(tenant=tenant)
        .order_by("created_at", "id")
        .values_list("kind", flat=True)
    )


def run_live(function: Function) -> dict[str, Any]:
    from apps.runtime import FunctionJob, run_function

    return run_function(
        FunctionJob(code=live_code(function)),
        tenant_id=str(function.tenant_id),
        trigger="PRE_REGISTER",
        user={"email": "a@example.com"},
        context={},
        env={},
    ).to_wire()


def test_a_new_function_is_a_draft_at_the_end_of_its_pipeline(
    acme: Tenant, make_function: Any
) -> None:
    first = make_function(acme, "first")
    second = make_function(acme, "second")
    assert (first.position, second.position) == (0, 1)
    assert second.live_release is None and second.has_unpublished_changes
    assert Release.objects.count() == 0
    assert kinds(acme).count(AuditKind.FUNCTION_CREATED) == 2


def test_creating_with_publish_releases_version_1(acme: Tenant, make_function: Any) -> None:
    before = config_version(acme)
    function = make_function(acme, publish=True, comment="first")
    release = function.live_release
    assert release.version == 1 and release.code == ALLOW and release.comment == "first"
    assert not function.has_unpublished_changes
    assert config_version(acme) > before


def test_draft_edits_never_change_what_executes_until_publish(
    acme: Tenant, make_function: Any, system: Actor
) -> None:
    function = make_function(acme, code=ALLOW, publish=True)
    version = config_version(acme)
    services.function_update(function=function, actor=system, code=DENY, comment="wip")
    services.function_update(function=function, actor=system, code=DENY + "// more\n")
    assert live_code(function) == ALLOW
    assert config_version(acme) == version  # no cache anywhere needs invalidating
    assert function_for_tenant(tenant=acme, id=function.pk).has_unpublished_changes
    release = services.function_publish(function=function, actor=system, comment="go")
    assert release.version == 2
    assert live_code(function) == DENY + "// more\n"
    assert config_version(acme) > version


def test_publishing_records_sha_author_and_comment(alice: Persona, make_function: Any) -> None:
    import hashlib

    function = make_function(alice.tenant)
    release = services.function_publish(
        function=function, actor=Actor.for_user(alice.user), comment="ship it"
    )
    assert release.code_sha256 == hashlib.sha256(ALLOW.encode()).hexdigest()
    assert (release.author, release.author_label, release.comment) == (
        alice.user,
        "alice",
        "ship it",
    )
    event = AuditEvent.objects.get(kind=AuditKind.FUNCTION_PUBLISHED)
    assert event.details["version"] == 1 and event.actor == "alice"


def test_publishing_an_unchanged_draft_is_a_conflict(
    acme: Tenant, make_function: Any, system: Actor
) -> None:
    function = make_function(acme, publish=True)
    with pytest.raises(Conflict):
        services.function_publish(function=function, actor=system)
    assert Release.objects.filter(function=function).count() == 1


def test_invalid_code_is_refused_at_publish_with_its_line(
    acme: Tenant, make_function: Any, system: Actor
) -> None:
    broken = "async function pipe(user, context, callback) {\n  callback(null, user, context;\n}\n"
    function = make_function(acme, code=broken)
    with pytest.raises(ServiceError) as refused:
        services.function_publish(function=function, actor=system)
    assert refused.value.code == "invalid_code"
    assert refused.value.details["line"] == 2
    assert refused.value.details["message"]
    assert Release.objects.count() == 0 and live_code(function) is None


def test_code_without_pipe_is_refused_at_publish(
    acme: Tenant, make_function: Any, system: Actor
) -> None:
    # A script that is one function of (user, context, callback) alone is an Auth0 Rule; a
    # helper followed by other code is neither that nor a pipe.
    code = "function other(user, context, callback) {}\nother({}, {}, () => {});\n"
    function = make_function(acme, code=code)
    with pytest.raises(ServiceError) as refused:
        services.function_publish(function=function, actor=system)
    assert refused.value.code == "invalid_code"
    assert "pipe" in refused.value.message


def test_creating_and_publishing_invalid_code_creates_nothing(acme: Tenant, system: Actor) -> None:
    with pytest.raises(ServiceError):
        services.function_create(
            tenant=acme, trigger="PRE_REGISTER", name="x", code="pipe(", actor=system, publish=True
        )
    assert not Function.objects.exists()
    assert AuditKind.FUNCTION_CREATED not in kinds(acme)


def test_rollback_restores_old_behaviour_as_a_new_version(
    acme: Tenant, make_function: Any, system: Actor
) -> None:
    function = make_function(acme, code=tagging("v1"), publish=True)
    services.function_update(function=function, actor=system, code=tagging("v2"))
    services.function_publish(function=function, actor=system)
    assert run_live(function)["custom_data"] == {"ran": "v2"}
    version = config_version(acme)
    release = services.function_rollback(function=function, version=1, actor=system)
    assert release.version == 3 and release.code == tagging("v1")
    assert "version 1" in release.comment
    assert run_live(function)["custom_data"] == {"ran": "v1"}
    assert config_version(acme) > version
    assert [r.version for r in Release.objects.filter(function=function)] == [3, 2, 1]
    # As in Auth0, the draft starts again from what is live.
    assert Function.objects.get(pk=function.pk).code == tagging("v1")
    assert AuditEvent.objects.get(kind=AuditKind.FUNCTION_ROLLED_BACK).details["from_version"] == 1


def test_rollback_can_keep_the_draft(acme: Tenant, make_function: Any, system: Actor) -> None:
    function = make_function(acme, code=tagging("v1"), publish=True)
    services.function_update(function=function, actor=system, code=tagging("v2"))
    services.function_publish(function=function, actor=system)
    services.function_update(function=function, actor=system, code=tagging("wip"))
    services.function_rollback(function=function, version=1, actor=system, update_draft=False)
    assert live_code(function) == tagging("v1")
    assert Function.objects.get(pk=function.pk).code == tagging("wip")


def test_rollback_to_an_unknown_version_or_to_what_runs_is_refused(
    acme: Tenant, make_function: Any, system: Actor
) -> None:
    function = make_function(acme, publish=True)
    with pytest.raises(NotFound):
        services.function_rollback(function=function, version=7, actor=system)
    with pytest.raises(Conflict):
        services.function_rollback(function=function, version=1, actor=system)
    assert Release.objects.filter(function=function).count() == 1


def test_history_keeps_author_and_comment_of_every_draft_save(
    alice: Persona, make_function: Any
) -> None:
    function = make_function(alice.tenant, code=tagging("one"))
    services.function_update(
        function=function, actor=Actor.for_user(alice.user), code=tagging("two"), comment="by alice"
    )
    services.function_update(
        function=function,
        actor=Actor(user=None, label="key:gp_abcdefgh"),
        code=tagging("three"),
        comment="by key",
    )
    versions = Version.objects.get_for_object(function).order_by("pk")
    assert [v.field_dict["code"] for v in versions] == [
        tagging("one"),
        tagging("two"),
        tagging("three"),
    ]
    assert versions[1].revision.user == alice.user
    assert versions[1].revision.comment == "by alice"
    history = function_draft_history(function=function)
    assert [(h["author"], h["comment"]) for h in history] == [
        ("key:gp_abcdefgh", "by key"),
        ("alice", "by alice"),
        ("tests", "Created"),
    ]


def test_enabling_and_disabling_are_audited_and_live_at_once(
    acme: Tenant, make_function: Any, system: Actor
) -> None:
    function = make_function(acme, publish=True)
    version = config_version(acme)
    services.function_update(function=function, actor=system, enabled=False)
    assert config_version(acme) == version + 1
    services.function_update(function=function, actor=system, enabled=True)
    assert kinds(acme)[-2:] == [AuditKind.FUNCTION_DISABLED, AuditKind.FUNCTION_ENABLED]


def test_settings_changes_are_audited_with_before_and_after(
    acme: Tenant, make_function: Any, system: Actor
) -> None:
    function = make_function(acme)
    services.function_update(function=function, actor=system, timeout_ms=5000, is_async=True)
    event = AuditEvent.objects.filter(kind=AuditKind.FUNCTION_SETTINGS).get()
    assert event.details["changes"]["timeout_ms"] == {"from": 3000, "to": 5000}
    assert event.details["changes"]["is_async"] == {"from": False, "to": True}


def test_an_update_that_changes_nothing_writes_nothing(
    acme: Tenant, make_function: Any, system: Actor
) -> None:
    function = make_function(acme)
    count = AuditEvent.objects.count()
    services.function_update(function=function, actor=system, code=ALLOW, timeout_ms=3000)
    assert AuditEvent.objects.count() == count
    assert Version.objects.get_for_object(function).count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"code": "x" * (100 * 1024 + 1)}, "code"),
        ({"code": "   "}, "code"),
        ({"timeout_ms": 99}, "timeout_ms"),
        ({"timeout_ms": 60_001}, "timeout_ms"),
        ({"timeout_ms": True}, "timeout_ms"),
        ({"timeout_ms": "3000"}, "timeout_ms"),
        ({"enabled": "yes"}, "enabled"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "two\nlines"}, "name"),
        ({"description": "d" * 2001}, "description"),
        ({"position": 3}, "position"),
        ({"code": "pipe \ud800"}, "code"),
        ({"name": "\udfff"}, "name"),
    ],
)
def test_out_of_bounds_values_are_refused_naming_the_field(
    acme: Tenant, make_function: Any, system: Actor, changes: dict[str, Any], field: str
) -> None:
    function = make_function(acme)
    with pytest.raises(ServiceError) as refused:
        services.function_update(function=function, actor=system, **changes)
    assert refused.value.status == 400 and refused.value.details["field"] == field
    assert Function.objects.get(pk=function.pk).code == ALLOW


def test_code_of_exactly_100_kb_is_accepted(acme: Tenant, make_function: Any) -> None:
    code = ALLOW + "//" + "x" * (100 * 1024 - len(ALLOW) - 2)
    assert len(code.encode()) == 100 * 1024
    assert make_function(acme, code=code).code == code


def test_names_are_unique_per_pipeline_only(
    acme: Tenant, make_function: Any, system: Actor
) -> None:
    make_function(acme, "same")
    make_function(acme, "same", trigger="POST_REGISTER")
    with pytest.raises(Conflict):
        make_function(acme, "same")
    other = make_function(acme, "other")
    with pytest.raises(Conflict):
        services.function_update(function=other, actor=system, name="same")


def test_a_pipeline_holds_at_most_20_functions(acme: Tenant, make_function: Any) -> None:
    for index in range(20):
        make_function(acme, f"f{index}")
    with pytest.raises(Conflict) as refused:
        make_function(acme, "one-too-many")
    assert refused.value.details["limit"] == 20


def test_operators_may_lower_limits_per_tenant(acme: Tenant, make_function: Any) -> None:
    acme.limits = {"functions_per_pipeline": 1, "code_bytes": 200}
    acme.save()
    make_function(acme, "only")
    with pytest.raises(Conflict):
        make_function(acme, "second")
    with pytest.raises(ServiceError):
        make_function(acme, "big", trigger="POST_REGISTER", code=ALLOW + " " * 200)


def test_reorder_puts_functions_in_the_given_order(
    acme: Tenant, make_function: Any, system: Actor
) -> None:
    a, b, c = (make_function(acme, name) for name in "abc")
    version = config_version(acme)
    services.pipeline_reorder(
        tenant=acme, trigger="PRE_REGISTER", function_ids=[c.pk, a.pk, b.pk], actor=system
    )
    pipeline = pipeline_for_tenant(tenant=acme, trigger="PRE_REGISTER")
    assert [(f.name, f.position) for f in functions_for_pipeline(pipeline=pipeline)] == [
        ("c", 0),
        ("a", 1),
        ("b", 2),
    ]
    assert config_version(acme) == version + 1
    event = AuditEvent.objects.get(kind=AuditKind.PIPELINE_REORDERED)
    assert event.details["after"] == [c.pk, a.pk, b.pk]


def test_reorder_with_missing_duplicate_foreign_or_unknown_ids_is_refused(
    acme: Tenant, globex: Tenant, make_function: Any, system: Actor
) -> None:
    a, b = make_function(acme, "a"), make_function(acme, "b")
    foreign = make_function(globex, "theirs")
    other_trigger = make_function(acme, "elsewhere", trigger="POST_REGISTER")
    for ids in (
        [a.pk],
        [a.pk, a.pk],
        [a.pk, b.pk, b.pk],
        [a.pk, foreign.pk],
        [a.pk, b.pk, foreign.pk],
        [a.pk, b.pk, other_trigger.pk],
        [a.pk, "fn_nope"],
        [],
    ):
        with pytest.raises(ServiceError) as refused:
            services.pipeline_reorder(
                tenant=acme, trigger="PRE_REGISTER", function_ids=ids, actor=system
            )
        assert refused.value.status == 400 and refused.value.details["field"] == "function_ids"
    assert [
        f.name
        for f in Function.objects.filter(tenant=acme, pipeline__trigger="PRE_REGISTER").order_by(
            "position"
        )
    ] == ["a", "b"]
    assert AuditKind.PIPELINE_REORDERED not in kinds(acme)


def test_deleting_closes_the_gap_and_is_audited(
    acme: Tenant, make_function: Any, system: Actor
) -> None:
    _a, b, _c = (make_function(acme, name, publish=True) for name in "abc")
    version = config_version(acme)
    services.function_delete(function=b, actor=system)
    assert [
        (f.name, f.position) for f in Function.objects.filter(tenant=acme).order_by("position")
    ] == [("a", 0), ("c", 1)]
    assert not Release.objects.filter(function_id=b.pk).exists()
    assert config_version(acme) == version + 1
    assert AuditEvent.objects.get(kind=AuditKind.FUNCTION_DELETED).details["name"] == "b"


def test_functions_of_another_tenant_are_not_found(
    acme: Tenant, globex: Tenant, make_function: Any
) -> None:
    function = make_function(globex)
    with pytest.raises(NotFound):
        function_for_tenant(tenant=acme, id=function.pk)
    assert function_for_tenant(tenant=globex, id=function.pk) == function


def test_an_unknown_trigger_is_refused(acme: Tenant, system: Actor) -> None:
    with pytest.raises(ServiceError) as refused:
        services.function_create(tenant=acme, trigger="NOPE", name="x", code=ALLOW, actor=system)
    assert refused.value.code == "unknown_trigger"


def test_pipeline_settings_are_kept_audited_and_bump_the_config(
    acme: Tenant, system: Actor
) -> None:
    version = config_version(acme)
    services.pipeline_update_settings(
        tenant=acme, trigger="PRE_REGISTER", settings={"note": "x"}, actor=system
    )
    assert pipeline_for_tenant(tenant=acme, trigger="PRE_REGISTER").settings == {"note": "x"}
    assert config_version(acme) == version + 1
    with pytest.raises(ServiceError):
        services.pipeline_update_settings(
            tenant=acme, trigger="PRE_REGISTER", settings=["x"], actor=system
        )  # type: ignore[arg-type]
