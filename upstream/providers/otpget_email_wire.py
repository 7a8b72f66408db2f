"""The wire of an OTPGet-compatible `stubs/email_handler.php`, where OTPGet's document is silent.

The document shows the reply samples of getEmailServices and buyEmail without their first line,
no sample of getEmailCode, cancelEmail or getEmailHistory beyond the fields its client code
reads (`messages[0].code`, `message`, `history[].email_address`, `history[].status`), and an
error table of status codes and messages. These are the shapes we decided on, in one place: the
`otpget-email` client reads them, the fake upstream in the tests builds exactly them (a test
compares its key order with `SHAPES`), and our own email_handler.php serves them.

Every reply is a JSON object whose first key is `status`, a string ("200" success, "202" waiting,
"300" cancelled; errors "400", "401", "402", "403", "404", "500", "503"); an error is
`{"status":"<code>","message":"<text>"}` with the messages of the document's error table
(`MESSAGES`). Prices and balances are JSON numbers with two decimals (`120.00`), `count` an
integer, `email_id` a digit string, `server` a number, as the samples show. Times are UTC ISO 8601
(`2026-03-09T20:57:32Z`). A history row's `status` is `waiting`, `completed` (a letter came,
charged) or `cancelled` (cancelled or expired without a letter, refunded).
"""

OK, WAITING, CANCELLED_STATUS = "200", "202", "300"
SERVERS = (1, 2)
DEFAULT_DOMAIN = "gmail.com"  # Server 1's `domain` when absent (the document's parameter table)
SERVER_2_SERVICE = "Email Activation"  # buyEmail's `service` on Server 2 (its sample)
PER_PAGE = 20  # getEmailHistory
# One sample reply of each action (`...Waiting`, `...Cancelled`: the other outcomes; `error`: of any).
SHAPES = {
    "getEmailServices1": '{"status":"200","services":[{"service_code":"ig",'
    '"service_name":"Instagram","price":120.00,"count":48}]}',
    "getEmailServices2": '{"status":"200","domains":[{"domain":"gmail.com","price":15.60,"count":82000}]}',
    "buyEmail": '{"status":"200","email_id":"7291834","email":"temp.abc123@gmail.com","service":"Instagram",'
    '"domain":"gmail.com","price":120.00,"balance":4880.00,"server":1}',
    "getEmailCode": '{"status":"200","email_id":"7291834","email":"temp.abc123@gmail.com","messages":[{"id":"1",'
    '"from":"security@mail.instagram.com","subject":"","code":"123456","text":"123456 is your Instagram code",'
    '"received_at":"2026-03-09T20:57:32Z"}]}',
    "getEmailCodeWaiting": '{"status":"202","message":"Waiting for code..."}',
    "getEmailCodeCancelled": '{"status":"300","message":"Cancelled"}',
    "cancelEmail": '{"status":"200","message":"Email activation cancelled. Balance refunded.","refunded":120.00,'
    '"balance":5000.00}',
    "cancelEmailCode": '{"status":"200","message":"Code already received.","code":"123456","messages":[{"id":"1",'
    '"from":"security@mail.instagram.com","subject":"","code":"123456","text":"123456 is your Instagram code",'
    '"received_at":"2026-03-09T20:57:32Z"}]}',
    "cancelEmailCancelled": '{"status":"300","message":"Cancelled"}',
    "getEmailHistory": '{"status":"200","page":1,"per_page":20,"total":1,"history":[{"email_id":"7291834",'
    '"email_address":"temp.abc123@gmail.com","service":"Instagram","domain":"gmail.com","price":120.00,'
    '"status":"completed","code":"123456","server":1,"created_at":"2026-03-09T20:55:00Z"}]}',
    "error": '{"status":"404","message":"Email activation not found"}',
}
# History statuses.
H_WAITING, H_COMPLETED, H_CANCELLED = "waiting", "completed", "cancelled"
CANCELLED_MESSAGE = "Email activation cancelled. Balance refunded."
CODE_MESSAGE = "Code already received."
# The error table's messages; `bad_server` and `domain_required` (400) are ours: the table has none.
MESSAGES = {
    "bad_key": "BAD_KEY",
    "blocked": "ACCOUNT_BLOCKED",
    "unknown_action": "BAD_ACTION",
    "required": "{param} is required",
    "bad_server": "server must be 1 or 2",
    "no_balance": "Insufficient balance. Need: {need} \u2014 Have: {have}",
    "no_service": "Service not available",
    "no_stock": "No stock available",
    "not_found": "Email activation not found",
    "connection": "API connection error",
    "no_email": "No email available",
    "database": "Database error",
    "not_configured": "Email service not configured",
    "disabled": "Email service disabled",
    "waiting": "Waiting for code...",
    "cancelled": "Cancelled",
}
