"""Customers and their equipment, with each item's warranty (S1, S2)."""
