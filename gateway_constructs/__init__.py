"""Reusable constructs of the gateway app: small, typed, each owning one piece of the architecture."""
