"""Internals of the API: auth, rate limits, versioning, middleware, routes, backend."""
