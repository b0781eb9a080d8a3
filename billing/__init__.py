"""Plans, subscriptions, Stripe webhooks, usage and cost. Built from the billing issue on."""
