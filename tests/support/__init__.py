"""Local stand-ins for external services (Anthropic Messages API) used by the tests."""
