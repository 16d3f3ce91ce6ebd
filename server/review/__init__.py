"""The office's review of each finished visit: its completeness check (S13-S28), its conflicts
and refused ops, and marking it reviewed.
"""
