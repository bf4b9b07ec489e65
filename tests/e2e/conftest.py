"""Browser test fixtures: the API test fixtures (throwaway schema, Redis, keys) reused."""

from tests.serve.conftest import api_schema, api_settings, make_key  # noqa: F401
