from django.db import migrations, models

# Fill the two new columns from the rollups already there, so an upgraded hub answers "from
# a day to today" the same way a hub folded from scratch does. Set-based: one statement each,
# the same text on SQLite (3.33 and newer) and PostgreSQL.
LAST_INTERACTION = """
UPDATE analytics_memberfact AS f SET last_interaction_day = d.last_day
FROM (
    SELECT community_id, group_id, member_id, MAX(day) AS last_day
    FROM analytics_memberday WHERE interactions > 0
    GROUP BY community_id, group_id, member_id
) AS d
WHERE f.community_id = d.community_id AND f.group_id = d.group_id
  AND f.member_id = d.member_id
"""

PREVIOUS_PAID = """
UPDATE analytics_memberfact AS f SET previous_paid_day = p.day
FROM (
    SELECT community_id, member_id, day FROM (
        SELECT community_id, member_id, day, ROW_NUMBER() OVER (
            PARTITION BY community_id, member_id ORDER BY paid_at DESC
        ) AS n
        FROM analytics_purchase
    ) AS ranked WHERE n = 2
) AS p
WHERE f.community_id = p.community_id AND f.member_id = p.member_id AND f.paid_orders >= 2
"""


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0004_member_day_interacted"),
    ]

    operations = [
        migrations.AddField(
            model_name="memberfact",
            name="last_interaction_day",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="memberfact",
            name="previous_paid_day",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="rollupstate",
            name="carried_on",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name="RollupPending",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("scope", "scope days from a day"),
                            ("seats", "a member's seats"),
                            ("pairs", "a community's shared members"),
                            ("snapshots", "a community's snapshots"),
                        ],
                        max_length=16,
                    ),
                ),
                ("community_id", models.BigIntegerField()),
                ("group_id", models.BigIntegerField(default=0)),
                ("member_id", models.BigIntegerField(default=0)),
                ("since", models.DateField(blank=True, null=True)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("kind", "community_id", "group_id", "member_id"),
                        name="rollup_pending_key",
                    )
                ],
            },
        ),
        migrations.AddIndex(
            model_name="memberfact",
            index=models.Index(fields=["community_id", "member_id"], name="member_fact_member"),
        ),
        migrations.RunSQL(LAST_INTERACTION, migrations.RunSQL.noop),
        migrations.RunSQL(PREVIOUS_PAID, migrations.RunSQL.noop),
    ]
