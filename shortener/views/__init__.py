"""Blueprints, one per concern; the catch-all redirect is registered last."""
