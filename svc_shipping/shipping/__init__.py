"""The shipping service: schedules and cancels shipments for the countries it serves."""
