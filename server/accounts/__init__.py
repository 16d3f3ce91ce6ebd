"""Accounts: people, their roles, their phones (devices), sign-in, sessions and who may see what."""
