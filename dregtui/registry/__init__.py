"""The registry client: :class:`~dregtui.registry.client.RegistryClient` speaks the Docker
Registry v2 / OCI distribution API (transport, auth, credentials, the manifest reads' fast lane).
No Textual here; the errors it raises are :mod:`dregtui.core.errors`."""
