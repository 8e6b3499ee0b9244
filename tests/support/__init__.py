"""Test support: TLS material, a token issuer, a scripted fake HTTP server, fixtures."""
