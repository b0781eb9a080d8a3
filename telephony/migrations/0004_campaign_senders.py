from django.apps.registry import Apps
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor


def senders_from_from_number(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    Campaign = apps.get_model("telephony", "Campaign")
    for campaign in Campaign.objects.exclude(from_number=""):
        campaign.senders = [campaign.from_number]
        campaign.save(update_fields=["senders"])


class Migration(migrations.Migration):
    dependencies = [("telephony", "0003_sendernumber_verification")]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="senders",
            field=models.JSONField(
                default=list,
                help_text="The numbers it sends from (E.164). With several, each recipient gets one of them, always the same one.",
            ),
        ),
        migrations.RunPython(senders_from_from_number, migrations.RunPython.noop),
        migrations.RemoveField(model_name="campaign", name="from_number"),
    ]
