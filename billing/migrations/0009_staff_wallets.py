"""Staff users have no wallet (docs/admin-guide.md, "Staff and customers"): remove the wallets that
earlier versions made for them when nothing ever moved through them. A staff wallet with a
transfer or a hold stays as it is (the ledger is append-only)."""

from django.db import migrations
from django.db.models import Q


def remove_unused_staff_wallets(apps, schema_editor):
    LedgerAccount = apps.get_model("billing", "LedgerAccount")
    Transfer = apps.get_model("billing", "Transfer")
    Hold = apps.get_model("billing", "Hold")
    staff = Q(customer__is_staff=True) | Q(customer__is_superuser=True)
    for wallet in LedgerAccount.objects.filter(staff, kind="wallet", balance=0, held=0):
        used = (
            Transfer.objects.filter(Q(source=wallet) | Q(destination=wallet)).exists()
            or Hold.objects.filter(account=wallet).exists()
        )
        if not used:
            wallet.delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0008_actor_label"), ("accounts", "0002_actor_label")]

    operations = [migrations.RunPython(remove_unused_staff_wallets, migrations.RunPython.noop)]
