"""The embedded broker: kombu's filesystem transport, with its messages written and taken
atomically.

kombu's `filesystem.Channel._put` opens `<time>_<uuid>.<queue>.msg` in the queue folder and
only then locks and writes it; `_get` does not take the lock, so a worker listing the folder
in between moves and reads an empty file, `loads` raises, and the worker's consumer stops:
every later task waits forever (seen in CI as five tests timing out at once). Here a message
is written under a name no consumer looks at (`….msg.part`) and renamed to its final name when
complete (`os.replace`, atomic within a folder), so a consumer only ever sees whole messages.

`_get` takes a message by renaming it into a `claimed/` folder beside the queue (same
filesystem: one rename, and only one consumer can win it) instead of kombu's
`shutil.move` into the system temporary folder, which is a copy and a delete when /tmp is
another filesystem, so two consumers could both read the same message.

Selected by CELERY_BROKER_TRANSPORT when CELERY_BROKER_URL is filesystem:// (settings/base.py);
every process (web, worker, beat, the tests' worker) reads the same settings.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from queue import Empty
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

PARTIAL_SUFFIX = ".part"


class Channel(filesystem.Channel):
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
                os.remove(claimed)
            except OSError as exc:
                raise ChannelError(f"Cannot read file {claimed!r} from queue.") from exc
            return loads(bytes_to_str(payload))
        raise Empty()


class Transport(filesystem.Transport):
    Channel = Channel
