"""Sync over HTTP: the push and pull endpoints, the feed of changes and the store the merge writes
to.
"""
