"""Web plumbing every part shares: errors as JSON or pages, paging, forms, request guards, headers,
logs and metrics.
"""
