"""A typed client of the shop's REST APIs."""
