"""The city simulator: scenarios, a clock-driven scheduler and desk generators.

It talks to desks only through their public service functions or the API.
"""
