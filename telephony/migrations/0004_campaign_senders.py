from django.db import migrations, models


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
        migrations.RunSQL(
            "UPDATE telephony_campaign SET senders = jsonb_build_array(from_number) WHERE from_number <> ''",
            reverse_sql="UPDATE telephony_campaign SET from_number = COALESCE(senders ->> 0, '')",
        ),
        migrations.RemoveField(model_name="campaign", name="from_number"),
    ]
