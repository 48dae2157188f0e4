"""The embedded broker: kombu's filesystem transport, with its messages written and taken
atomically.

kombu's `filesystem.Channel._put` opens `<time>_<uuid>.<queue>.msg` in the queue folder and
only then locks and writes it; `_get` does not take the lock, so a worker listing the folder
in between moves and reads an empty file, `loads` raises, and the worker's consumer stops:
every later task waits forever (seen in CI as five tests timing out at once). Here:

- a message is written under a name no consumer looks at (`….msg.part`) and renamed to its
  final name when complete (`os.replace`, atomic within a folder): a consumer only ever sees
  whole messages;
- `_get` takes a message by renaming it into a `claimed/` folder beside the queue (same
  filesystem: one rename, which only one consumer can win) instead of kombu's `shutil.move`
  into the system temporary folder, a copy and a delete when /tmp is another filesystem, so
  that two consumers could both read one message;
- a file that is not a message (damaged on disk, or written by another program) is set aside
  as `claimed/<name>.bad` and logged, and the worker goes on with the next one: kombu's
  `loads` error stopped the worker;
- what a crash leaves is dealt with when a consumer first looks at the queue: a `.part`
  older than `STALE_SECONDS` (transport option `stale_seconds`; its writer died) is deleted,
  a claimed message that old (its consumer died between taking and reading it) goes back to
  the queue.

`store_processed` (kombu's copy of every message taken) is not offered: refused, not ignored.
Selected by CELERY_BROKER_TRANSPORT when CELERY_BROKER_URL is filesystem:// (settings/base.py);
every process (web, worker, beat, the tests' worker) reads the same settings.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from queue import Empty
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

PARTIAL_SUFFIX = ".part"
STALE_SECONDS = 60.0
log = logging.getLogger(__name__)


class Channel(filesystem.Channel):
    _recovered = False

    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + PARTIAL_SUFFIX
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(partial)
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    @property
    def claimed_folder(self):
        folder = os.path.join(self.data_folder_in, "claimed")
        os.makedirs(folder, exist_ok=True)
        return folder

    def _get(self, queue):
        if not self._recovered:
            self._recover()
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            # `<time>_<uuid>.<queue>.msg`: a partial write ends in .part, the claimed folder
            # has no dot; neither matches.
            if name.partition(".")[2] != wanted:
                continue
            claimed = os.path.join(self.claimed_folder, name)
            try:
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except FileNotFoundError:
                continue  # another consumer took it
            try:
                with open(claimed, "rb") as f:
                    payload = f.read()
            except OSError as exc:
                raise ChannelError(f"Cannot read file {claimed!r} from queue.") from exc
            try:
                message = loads(bytes_to_str(payload))
            except ValueError:
                log.error("broker: %s is not a message (%d bytes): set aside as %s.bad",
                          name, len(payload), claimed)  # fmt: skip
                os.replace(claimed, claimed + ".bad")
                continue
            os.remove(claimed)
            return message
        raise Empty()

    def _recover(self):
        """What a crash left: a half-written message of a writer that died (deleted), a
        message taken by a consumer that died before reading it (back in the queue)."""
        self._recovered = True
        stale = time.time() - self.transport_options.get("stale_seconds", STALE_SECONDS)
        for name in os.listdir(self.data_folder_in):
            path = os.path.join(self.data_folder_in, name)
            with contextlib.suppress(FileNotFoundError):
                if name.endswith(PARTIAL_SUFFIX) and os.stat(path).st_mtime < stale:
                    os.remove(path)
                    log.warning("broker: removed %s, left by a writer that stopped", name)
        for name in os.listdir(self.claimed_folder):
            path = os.path.join(self.claimed_folder, name)
            with contextlib.suppress(FileNotFoundError):
                # st_ctime: when it was claimed (a rename changes it; st_mtime is when the
                # message was written, perhaps long before a live consumer took it).
                if name.endswith(".msg") and os.stat(path).st_ctime < stale:
                    os.rename(path, os.path.join(self.data_folder_in, name))
                    log.warning("broker: %s put back in the queue (its consumer stopped)", name)


class Transport(filesystem.Transport):
    Channel = Channel

    def __init__(self, client, **kwargs):
        if client.transport_options.get("store_processed"):
            raise ValueError("missionapp.broker does not keep processed messages")
        super().__init__(client, **kwargs)
