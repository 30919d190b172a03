"""Clients of the identity service (Keystone)."""
