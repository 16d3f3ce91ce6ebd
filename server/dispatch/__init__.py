"""Dispatch: scheduling, reassigning and rescheduling visits (S14); phones learn of it through
the sync store at their next pull.
"""
