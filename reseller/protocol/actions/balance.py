from billing.money import format_pkr
from reseller.protocol.context import Call
from reseller.protocol.render import Token


def get_balance(call: Call) -> Token:
    """`ACCESS_BALANCE:500.00`: what the customer can spend (wallet minus open holds)."""
    return Token("ACCESS_BALANCE", (format_pkr(call.principal.available),))
