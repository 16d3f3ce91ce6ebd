"""The office's day: the queues of promises due, the home page and the reports over every domain."""
