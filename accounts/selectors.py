from accounts.models import Customer


def customer_get(*, username: str) -> Customer | None:
    return Customer.objects.filter(username=username).first()
