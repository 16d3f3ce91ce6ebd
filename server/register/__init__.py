"""The service register: requests as they arrive (S10), their SLA clocks (S5), triage and
dispatch.
"""
