"""The feed phones pull (changes numbered at commit) and the log of the ops they pushed, with the
rows every database needs: the counter, the epoch and the default checklist.
"""
