from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import Customer
from billing.services import wallet_create


@receiver(post_save, sender=Customer, dispatch_uid="billing.customer_wallet")
def create_wallet_for_new_customer(sender, instance: Customer, created: bool, raw: bool = False, **kwargs):
    """Every customer has a wallet from the moment it exists (same transaction)."""
    if created and not raw:
        wallet_create(customer=instance)
