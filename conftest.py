"""The suite's fixtures live in testsupport/; this loads them for every test under the project."""

pytest_plugins = [
    "testsupport.tenants",
    "testsupport.twilio",
    "testsupport.processes",
    "testsupport.queue",
    "testsupport.llm",
    "testsupport.receiver",
]
