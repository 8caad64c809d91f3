"""Constructs of the Weir file pipeline stack."""
