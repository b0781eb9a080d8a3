"""Appointment notifications (app label `appointments`, in each tenant's schema).

Appointments with a confirmation SMS when booked, reminders at the tenant's offsets (released by beat,
see reminders), staff notices (SMS and/or e-mail) of bookings and replies, and customers' replies handled
by services.appointment_reply_handle, which the inbound SMS code calls in the tenant's schema. Every SMS
goes through the platform's outbound path (outbound), so opt-outs, the daily limit and the sender apply.
"""
