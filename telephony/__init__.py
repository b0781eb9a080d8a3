"""Twilio gateway and sandbox, numbers, calls, SMS, webhooks, logs. Built from the telephony issue on."""
