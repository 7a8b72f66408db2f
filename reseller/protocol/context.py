from dataclasses import dataclass

from accounts.models import Customer
from reseller.protocol.params import Params


@dataclass(frozen=True)
class Call:
    """One authenticated API call, as handed to an action."""

    customer: Customer
    params: Params
    endpoint: str
