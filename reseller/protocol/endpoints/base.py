"""What every endpoint is made of, and the errors the plain-text endpoints share."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from accounts.errors import AccountBlocked
from reseller.protocol.context import Call
from reseller.protocol.errors import BadKey, ErrorTable, RateLimited, UnknownAction, token
from reseller.protocol.render import TEXT_CONTENT_TYPE, Reply

Action = Callable[[Call], Reply]

# Echoing a client's unknown action back is PHP's behaviour; a cap keeps a
# 10 KB action from being reflected whole.
MAX_ECHOED_ACTION = 100


@dataclass(frozen=True)
class Endpoint:
    name: str
    actions: Mapping[str, Action]
    errors: ErrorTable
    content_type: str = TEXT_CONTENT_TYPE  # of its replies (HEAD/OPTIONS answer with it, empty)


# The plain-text endpoints share their tokens for the common errors.
TOKEN_ERRORS = {
    BadKey: token("BAD_KEY"),
    AccountBlocked: token("ACCOUNT_BLOCKED"),
    UnknownAction: token("BAD_ACTION"),
    RateLimited: token("TOO_MANY_REQUESTS"),
}
