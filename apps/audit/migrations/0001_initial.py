# AuditEvent moved here from apps.runs with its table (runs_auditevent), rows and index
# names: the model enters this app's state only, after runs' 0006 took it out of runs' state.
# The content type follows the model so that permissions and admin log entries keep pointing
# at it.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import apps.audit.models


def content_type_to_audit(apps, schema_editor):
    _content_type_move(apps, schema_editor, source="runs", target="audit")


def content_type_to_runs(apps, schema_editor):
    _content_type_move(apps, schema_editor, source="audit", target="runs")


def _content_type_move(apps, schema_editor, *, source, target):
    content_types = apps.get_model("contenttypes", "ContentType").objects.using(
        schema_editor.connection.alias
    )
    if not content_types.filter(app_label=target, model="auditevent").exists():
        content_types.filter(app_label=source, model="auditevent").update(app_label=target)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("runs", "0007_auditevent_moved_to_audit"),
        ("tenants", "0002_tenant_config_version"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditEvent",
                    fields=[
                        (
                            "id",
                            models.CharField(
                                default=apps.audit.models._audit_id,
                                editable=False,
                                max_length=40,
                                primary_key=True,
                                serialize=False,
                            ),
                        ),
                        ("actor", models.CharField(max_length=150)),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("tenant.created", "Tenant created"),
                                    ("member.added", "Member added"),
                                    ("member.changed", "Member role changed"),
                                    ("member.removed", "Member removed"),
                                    ("api_key.created", "API key created"),
                                    ("api_key.revoked", "API key revoked"),
                                    ("function.created", "Function created"),
                                    ("function.draft_saved", "Draft saved"),
                                    ("function.settings_changed", "Function settings changed"),
                                    ("function.published", "Function published"),
                                    ("function.rolled_back", "Function rolled back"),
                                    ("function.enabled", "Function enabled"),
                                    ("function.disabled", "Function disabled"),
                                    ("function.deleted", "Function deleted"),
                                    ("pipeline.reordered", "Pipeline reordered"),
                                    ("pipeline.settings_changed", "Pipeline settings changed"),
                                    ("env.set", "Env var set"),
                                    ("secret.set", "Secret set"),
                                    ("env.deleted", "Env var deleted"),
                                    ("config.imported", "Configuration imported"),
                                ],
                                max_length=40,
                            ),
                        ),
                        ("object_type", models.CharField(blank=True, max_length=40)),
                        ("object_id", models.CharField(blank=True, max_length=64)),
                        ("details", models.JSONField(blank=True, default=dict)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "actor_user",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "tenant",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="audit_events",
                                to="tenants.tenant",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "runs_auditevent",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [
                            models.Index(fields=["tenant", "-created_at"], name="audit_tenant_created"),
                            models.Index(
                                fields=["tenant", "object_type", "object_id"], name="audit_tenant_object"
                            ),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_to_audit, content_type_to_runs, elidable=True),
    ]
