"""The shop's topics (base names: ``saga_common.messaging.kafka.topic_name`` adds a deployment's prefix)."""

ORDERS_EVENTS = "orders.events"
ORDERS_COMMANDS = "orders.commands"
PAYMENTS_COMMANDS = "payments.commands"
SHIPPING_COMMANDS = "shipping.commands"
ORCHESTRATOR_REPLIES = "orchestrator.replies"
ALL_TOPICS = (ORDERS_EVENTS, ORDERS_COMMANDS, PAYMENTS_COMMANDS, SHIPPING_COMMANDS, ORCHESTRATOR_REPLIES)

# Who writes each topic and who reads it (the AsyncAPI document of docs/contract is made from this).
WRITERS_AND_READERS = {
    ORDERS_EVENTS: (("orders",), ("orchestrator",)),
    ORDERS_COMMANDS: (("orchestrator",), ("orders",)),
    PAYMENTS_COMMANDS: (("orchestrator",), ("payments",)),
    SHIPPING_COMMANDS: (("orchestrator",), ("shipping",)),
    ORCHESTRATOR_REPLIES: (("orders", "payments", "shipping"), ("orchestrator",)),
}

# The first part of every CloudEvents type: "<namespace>.<ClassName>.v<major>". A message lives in the
# namespace of the service whose domain it belongs to (a command in its receiver's, a reply in its
# sender's), e.g. sagaref.payments.AuthorizePayment.v1 and sagaref.payments.PaymentAuthorized.v1.
ORDERS = "sagaref.orders"
PAYMENTS = "sagaref.payments"
SHIPPING = "sagaref.shipping"
