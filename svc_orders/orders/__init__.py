"""The orders service: clients place orders here; the saga decides them."""
