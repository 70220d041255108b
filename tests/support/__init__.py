"""Parts the tests share: local stand-ins for external services (Anthropic Messages API), and one
module per theme of helpers (os_repo, ingest, webhook, bot_process, access, audit, ...). Test
modules import shared helpers from here, tests/helpers.py, tests/harness.py or conftest fixtures,
never from another test_*.py (tests/test_layout.py checks); nothing here is named test_*."""
