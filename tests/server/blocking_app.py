"""A test-only server launcher whose push can be made to stop inside the store, to kill it there.

With ONSITE_TEST_BLOCK_FILE set, a push that carries an op with seq >= ONSITE_TEST_BLOCK_FROM_SEQ
does all its writes, then, at the device's last_seq update (the push's final write, before
commit), creates that file and waits forever: the test sees the file and SIGKILLs the process
with the transaction open. Production code has no such hook; this module patches it in.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from flask import Flask

from server import create_app as create_onsite_app
from server.syncing import store as sync_store


def create_app() -> Flask:
    """Build the app with the blocking hook installed (waitress --call target)."""
    app = create_onsite_app()
    marker = os.environ.get("ONSITE_TEST_BLOCK_FILE")
    if marker:
        from_seq = int(os.environ.get("ONSITE_TEST_BLOCK_FROM_SEQ", "1"))
        original = sync_store.SqlStore.save_device

        def save_device(self, device_id, state):
            original(self, device_id, state)
            if state.last_seq >= from_seq:
                self.session.flush()  # every write of the push is in the open transaction
                # Whole or not at all: the test polls for the file and then reads it, and a
                # file created empty and written after would be read empty in between.
                staged = Path(f"{marker}.tmp")
                staged.write_text(str(state.last_seq))
                os.replace(staged, marker)
                threading.Event().wait()  # until SIGKILL

        sync_store.SqlStore.save_device = save_device
    return app
