pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.client",
    "tests.fixtures.smtp",
    "tests.fixtures.topology",
]
