# AuditEvent moved to apps.audit. The table (runs_auditevent) and its rows stay where they
# are: this only takes the model out of this app's state; audit's 0001_initial adds it there.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0006_run_status_lost"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditEvent")],
            database_operations=[],
        ),
    ]
