"""Blueprints: auth, main (pages), api, errors."""
