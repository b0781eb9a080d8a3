"""Offline doubles of the outside providers the platform talks to, one sub-package each.

`sandbox.twilio` is a local Twilio (its 2010 REST API, lifecycles, signed callbacks, faults);
`sandbox.llm` is a fake LLM provider speaking OpenAI's, Azure OpenAI's and Anthropic's wire formats
(`manage.py run_fake_llm`, LLM_FAKE_BASE_URL for the openai and anthropic SDKs). Each
double is a standalone server: nothing here imports the platform's apps, and the platform reaches a
double only through settings that point the real client library at it (TWILIO_SANDBOX_URL and
TWILIO_SANDBOX_HTTP_CLIENT for twilio-python). `manage.py run_sandbox` starts them all;
`manage.py sandbox_call` and `manage.py sandbox_sms` make the running Twilio sandbox place a
simulated inbound call or deliver an inbound message, and print what the application answered.
"""
