"""After the visit: escalations (S30), returned parts (S31), complaints (S32), follow-ups (S7,
S33).
"""
