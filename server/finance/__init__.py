"""Finance: what each visit owes (S3, S4), what was collected and handed over, and the day's
reconciliation.
"""
