"""The sample trust shipped with the project (used by ``demo-data``, the sandbox and the tests)."""
