"""Who holds a lease: `host:pid:random` ids, and whether such a holder is a dead process here.

Job leases (`services.jobs`) and reminder claims (`services.reminders`) both name their holder this
way, so a restart on the same host can take over at once what its killed predecessor held instead
of waiting for the lease to lapse.
"""

from __future__ import annotations

import os
import socket
import uuid


def new_holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def dead_local_holder(holder: str) -> bool:
    """True for `host:pid:...` ids of this host whose process no longer exists."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False  # another holder of this very process: alive
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OSError):
        return False  # exists (another user's process) or cannot tell: leave it to lease expiry
    return False
