"""Sync with a news server over the Google Reader API (issue 16).

:mod:`.greader` is the HTTP client (every request of the sync), :mod:`.account` the saved
account (the server's token, never the password), :mod:`.engine` one sync: push the outbox,
pull subscriptions, items and their read/starred state.
"""
