"""What the test suite shares: the database and tenants (tenants), the Twilio sandbox the platform talks
to (twilio), the platform's real processes (processes) and the one way to wait for something (wait).

The root conftest loads the fixture modules as pytest plugins; tests import the helpers from here.
"""
