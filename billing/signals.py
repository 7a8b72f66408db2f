from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import Customer, StaffUser
from billing.services import wallet_create

STAFF_FIELDS = {"is_staff", "is_superuser"}


@receiver(post_save, sender=Customer, dispatch_uid="billing.customer_wallet")
@receiver(post_save, sender=StaffUser, dispatch_uid="billing.staff_user_wallet")  # saved as the proxy (its admin)
def create_wallet_for_new_customer(sender, instance: Customer, created: bool, raw: bool = False, **kwargs):
    """Every customer (not staff) has a wallet from the moment it exists (same transaction).

    Staff users (is_staff or is_superuser) get none. A staff user made a customer gets one when
    saved so; a customer made staff keeps the wallet it has (its transfers stay in the ledger), but
    the API refuses its key (reseller/protocol/auth.py). A save of other fields only (a login's
    `last_login`) costs no query.
    """
    if raw or instance.is_staff_account:
        return
    update_fields = kwargs.get("update_fields")
    if created or update_fields is None or STAFF_FIELDS & set(update_fields):
        wallet_create(customer=instance)
