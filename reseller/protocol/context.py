from dataclasses import dataclass

from reseller.protocol.auth import Principal
from reseller.protocol.params import Params


@dataclass(frozen=True)
class Call:
    """One authenticated API call, as handed to an action."""

    principal: Principal
    params: Params
    endpoint: str
