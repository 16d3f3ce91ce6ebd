"""Visits and what the field records on them, and the office's review of each finished visit."""
