"""Twilio's 2010 REST API as the sandbox answers it: router (the routes), common (what handlers share), one module per resource."""
