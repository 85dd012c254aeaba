"""Generators that feed the desks with simulated activity, one module per desk."""
