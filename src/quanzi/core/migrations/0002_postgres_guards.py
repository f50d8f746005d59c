"""PostgreSQL guards behind the services' own checks.

- The activity log and the ledger are append-only: UPDATE and DELETE raise.
- Every ledger transaction's entries sum to zero, checked at commit by a deferred constraint
  trigger, so even a hand-written INSERT cannot unbalance the books.

SQLite has no deferred triggers; there the posting service's checks stand alone.
"""

from django.db import migrations

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION quanzi_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
"""

SUM_ZERO = """
CREATE OR REPLACE FUNCTION quanzi_ledger_sum_zero() RETURNS trigger AS $$
DECLARE
    total bigint;
BEGIN
    SELECT COALESCE(SUM(amount), 0) INTO total
      FROM core_ledgerentry WHERE transaction_id = NEW.transaction_id;
    IF total <> 0 THEN
        RAISE EXCEPTION 'ledger transaction % does not sum to zero (%)', NEW.transaction_id, total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER ledger_entry_sum_zero
    AFTER INSERT ON core_ledgerentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION quanzi_ledger_sum_zero();
"""

TABLES = ["core_activity", "core_ledgertransaction", "core_ledgerentry"]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(APPEND_ONLY, params=None)
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION quanzi_append_only();"
        )
    schema_editor.execute(SUM_ZERO, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP TRIGGER IF EXISTS ledger_entry_sum_zero ON core_ledgerentry;")
    schema_editor.execute("DROP FUNCTION IF EXISTS quanzi_ledger_sum_zero();")
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")
    schema_editor.execute("DROP FUNCTION IF EXISTS quanzi_append_only();")


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
