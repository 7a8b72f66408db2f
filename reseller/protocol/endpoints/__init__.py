"""The four compatibility endpoints: their actions and their error tables, one module each.

Each endpoint answers in its own dialect (see docs/protocol.md):
- handler_api.php and cheap_handler.php: bare tokens;
- rental-handler.php and email_handler.php: JSON with a string `status`.
The domain raises its errors and returns its results (reseller.orders.errors, the services'
result values); only these tables turn them into the endpoint's words.
"""

from reseller.protocol.endpoints.base import Endpoint
from reseller.protocol.endpoints.cheap_handler import CHEAP_HANDLER
from reseller.protocol.endpoints.email_handler import EMAIL_HANDLER
from reseller.protocol.endpoints.handler_api import HANDLER_API
from reseller.protocol.endpoints.rental_handler import RENTAL_HANDLER

__all__ = ["Endpoint", "HANDLER_API", "CHEAP_HANDLER", "RENTAL_HANDLER", "EMAIL_HANDLER"]
