"""The wire of an OTPGet-compatible `stubs/rental-handler.php`, where OTPGet's document is silent.

The document's reply samples lost their first lines; these are the shapes we decided on, in one
place: the `otpget-rental` client reads them, the fake upstream in the tests builds exactly them
(a test compares its key order with `SHAPES`), and our own rental-handler.php is to serve them.
Every reply is a JSON object whose first key is `status`, a string ("200" success); an error is
`{"status":"<code>","message":"<text>"}` with the codes and messages of the document's error
table (`MESSAGES`, the `...` parts ours). Times without a zone (`expires`, `expiry_time`,
`new_expiry`) are Pakistan time (UTC+5) as `YYYY-MM-DD HH:MM:SS`; an SMS `timestamp` is UTC
ISO 8601 (`2026-03-09T20:57:32Z`). Prices are strings with two decimals (product decision P5);
`duration_hours` is a string in pricing, a number in rentNumber and renewRental, as the samples
show. A rental's `status` is `active`, `expired` or `cancelled`.
"""

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DURATIONS = {1: (12, 24, 168, 720, 4320, 8640), 2: (720, 4320, 8640)}
PROVIDERS = (1, 2)
OK = "200"
# One sample reply of each action (`error`: of any).
SHAPES = {
    "getRentalCountries": '{"status":"200","countries":[{"id":"1","provider":"2","name":"Canada",'
    '"country_code":"ca"}]}',
    "getRentalPricing": '{"status":"200","pricing":[{"id":"1","duration_hours":"720","price":"840.00",'
    '"country_name":"Canada"}]}',
    "getAvailableRentals": '{"status":"200","available":[{"area_code":"ca","area_title":"Canada",'
    '"available":3338,"min_month":1}]}',
    "rentNumber": '{"status":"200","message":"Number rented successfully.","phone":"3434337545",'
    '"order_id":"2673093356180000583","duration_hours":720,"price_paid":"840.00","new_balance":"4220.00",'
    '"expires":"2026-04-09 21:55:55"}',
    "getMyRentals": '{"status":"200","rentals":[{"id":"27","server":"Server 2","phone_number":"3434337545",'
    '"order_id":"2673093356180000583","status":"active","country_code":"ca","expiry_time":"2026-04-09 21:55:55"}]}',
    "getRentalSMS": '{"status":"200","messages":[{"id":"1","from":"Server 2","text":"Your WhatsApp code 740-279",'
    '"code":"","timestamp":"2026-03-09T20:57:32Z"}]}',
    "renewRental": '{"status":"200","message":"Rental renewed successfully.","phone_number":"3434337545",'
    '"duration_hours":720,"price_paid":"840.00","new_balance":"3440.00","new_expiry":"2026-05-09 21:55:55"}',
    "error": '{"status":"404","message":"Rental not found or does not belong to you."}',
}
RENTED_MESSAGE = "Number rented successfully."
RENEWED_MESSAGE = "Rental renewed successfully."
# The error table's messages (`...` parts filled in by us); `bad_provider`, `bad_duration` (400) and
# `not_active` (400, a renewal of an ended rental) are ours: the table has none for them.
MESSAGES = {
    "bad_key": "Invalid API key.",
    "blocked": "Account is blocked or inactive.",
    "unknown_action": "Unknown action: {action}",
    "required": "{param} is required.",
    "server2_monthly": "Server 2 only supports monthly durations (720, 4320, 8640 hours).",
    "bad_provider": "provider must be 1 or 2.",
    "bad_duration": "duration_hours must be one of 12, 24, 168, 720, 4320, 8640.",
    "no_balance": "Insufficient balance.",
    "no_pricing": "No pricing found for this country, provider and duration.",
    "not_found": "Rental not found or does not belong to you.",
    "not_active": "Rental is not active.",
    "unavailable": "Server {provider} is currently unavailable.",
    "server_error": "Server {provider} error: {detail}",
    "database": "Database error: {detail}",
}
ACTIVE, EXPIRED, CANCELLED = "active", "expired", "cancelled"
