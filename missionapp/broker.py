"""The embedded broker: kombu's filesystem transport, with its messages written and taken
atomically, and kept until they are acknowledged.

kombu's `filesystem.Channel._put` opens `<time>_<uuid>.<queue>.msg` in the queue folder and
only then locks and writes it; `_get` does not take the lock, so a worker listing the folder
in between moves and reads an empty file, `loads` raises, and the worker's consumer stops:
every later task waits forever (seen in CI as five tests timing out at once). And `_get`
deleted the message as it handed it out: a worker killed while running the task (acks_late
or not) lost it for good. Here:

- a message is written under a name no consumer looks at (`….msg.part`) and renamed to its
  final name when complete (`os.replace`, atomic within a folder): a consumer only ever sees
  whole messages;
- `_get` takes a message by renaming it into the consumer's own claims folder,
  `claimed/<pid>-<process start time>/` beside the queue (same filesystem: one rename, which
  only one consumer can win), instead of kombu's `shutil.move` into the system temporary
  folder (a copy and a delete when /tmp is another filesystem: two consumers could both read
  one message);
- the claimed file stays there until the message is acknowledged (`basic_ack`), rejected, or
  put back by kombu (a channel closing restores what it held); a consumer that does not
  acknowledge (no_ack: Celery's remote control) has it removed on reading;
- the messages of a consumer that died holding them (a worker killed mid-task: SIGKILL, the
  OOM killer, a power cut) go back to the queue as soon as another consumer looks: at its
  start (a restarted worker) and every `RECOVERY_INTERVAL` seconds (transport option
  `recovery_interval`). A consumer is dead when its pid is gone or now belongs to a process
  started at another time. A live consumer's messages are never taken from it, however long
  its task runs (unlike a visibility timeout). The embedded broker serves one machine: its
  folder is not for sharing across hosts;
- a file that is not a message (damaged on disk, or written by another program) is set aside
  as `claimed/<name>.bad` and logged, and the worker goes on with the next one: kombu's
  `loads` error stopped the worker;
- a `.part` older than `STALE_SECONDS` (transport option `stale_seconds`; its writer died)
  is deleted when a consumer looks.

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
RECOVERY_INTERVAL = 10.0
log = logging.getLogger(__name__)


class Channel(filesystem.Channel):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._claims = {}  # delivery tag -> its file under own_claims_folder
        self._no_ack_queues = set()
        self._next_recovery = 0.0

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

    @property
    def own_claims_folder(self):
        """claimed/<pid>-<start time>/: the messages this process took and has not yet
        acknowledged. The start time tells this process from a later one given its pid."""
        folder = getattr(self, "_own_claims_folder", None)
        if folder is None:
            folder = os.path.join(self.claimed_folder, _owner(os.getpid()))
            os.makedirs(folder, exist_ok=True)
            self._own_claims_folder = folder
        return folder

    def basic_consume(self, queue, no_ack, callback, consumer_tag, **kwargs):
        # A consumer that does not acknowledge (Celery's remote-control replies, fanout) gets
        # its messages removed as soon as they are read: nothing would ever ack them.
        (self._no_ack_queues.add if no_ack else self._no_ack_queues.discard)(queue)
        return super().basic_consume(queue, no_ack, callback, consumer_tag, **kwargs)

    def basic_get(self, queue, no_ack=False, **kwargs):
        try:
            message = self.Message(self._get(queue, no_ack=no_ack), channel=self)
        except Empty:
            return None
        if not no_ack:
            self.qos.append(message, message.delivery_tag)
        return message

    def basic_ack(self, delivery_tag, multiple=False):
        super().basic_ack(delivery_tag, multiple=multiple)
        self._claim_done(delivery_tag)

    def basic_reject(self, delivery_tag, requeue=False):
        # With requeue, kombu puts a copy back first (_restore, below, then drops the claim).
        super().basic_reject(delivery_tag, requeue=requeue)
        self._claim_done(delivery_tag)

    def _restore(self, message):
        # Back in the queue (a reject with requeue, or the unacknowledged messages of a
        # channel closing): the new copy is written before the claim is dropped, so a crash
        # in between delivers the message twice, never not at all.
        super()._restore(message)
        self._claim_done(message.delivery_tag)

    def _claim_done(self, delivery_tag):
        path = self._claims.pop(delivery_tag, None)
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)

    def _get(self, queue, no_ack=None):
        if monotonic() >= self._next_recovery:
            self._recover()
        if no_ack is None:
            no_ack = queue in self._no_ack_queues
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            # `<time>_<uuid>.<queue>.msg`: a partial write ends in .part, the claimed folder
            # has no dot; neither matches.
            if name.partition(".")[2] != wanted:
                continue
            claimed = os.path.join(self.own_claims_folder, name)
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
                delivery_tag = (message.get("properties") or {}).get("delivery_tag")
            except (ValueError, AttributeError):
                log.error("broker: %s is not a message (%d bytes): set aside as %s.bad",
                          name, len(payload), claimed)  # fmt: skip
                os.replace(claimed, os.path.join(self.claimed_folder, name + ".bad"))
                continue
            if no_ack or delivery_tag is None:  # nothing will acknowledge it
                os.remove(claimed)
            else:
                # Kept until the message is acknowledged (basic_ack): a worker killed while
                # running the task leaves it here, and the next consumer puts it back.
                self._claims[delivery_tag] = claimed
            return message
        raise Empty()

    def _recover(self):
        """What a crash left, put right by whichever consumer looks first (at its start, then
        every RECOVERY_INTERVAL seconds): a half-written message of a writer that died is
        deleted; the messages a consumer that died had taken and not acknowledged (a worker
        killed mid-task) go back to the queue at once."""
        self._next_recovery = monotonic() + self.transport_options.get(
            "recovery_interval", RECOVERY_INTERVAL
        )
        stale = time.time() - self.transport_options.get("stale_seconds", STALE_SECONDS)
        for name in os.listdir(self.data_folder_in):
            path = os.path.join(self.data_folder_in, name)
            with contextlib.suppress(FileNotFoundError):
                if name.endswith(PARTIAL_SUFFIX) and os.stat(path).st_mtime < stale:
                    os.remove(path)
                    log.warning("broker: removed %s, left by a writer that stopped", name)
        for owner in os.listdir(self.claimed_folder):
            folder = os.path.join(self.claimed_folder, owner)
            if owner.endswith(".msg"):
                # Left by the version before claims had owners: put back once it is old
                # (st_ctime: when it was claimed; a rename changes it).
                with contextlib.suppress(FileNotFoundError):
                    if os.stat(folder).st_ctime < stale:
                        os.rename(folder, os.path.join(self.data_folder_in, owner))
                        log.warning("broker: %s put back in the queue (its consumer stopped)",
                                    owner)  # fmt: skip
                continue
            if not os.path.isdir(folder) or _alive(owner):
                continue
            for name in os.listdir(folder):
                with contextlib.suppress(FileNotFoundError):
                    os.rename(os.path.join(folder, name), os.path.join(self.data_folder_in, name))
                    log.warning("broker: %s put back in the queue (its consumer, process %s, "
                                "stopped before acknowledging it)", name, owner)  # fmt: skip
            with contextlib.suppress(OSError):
                os.rmdir(folder)


def _start_time(pid):
    """The process's start time in clock ticks since boot (Linux /proc), or "" elsewhere."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            # The command name (field 2) is in parentheses and may hold spaces: split after it.
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _owner(pid):
    return f"{pid}-{_start_time(pid)}"


def _alive(owner):
    """Whether the consumer that named its claims folder `owner` still runs on this machine
    (the embedded broker is one machine's: its folder is not shared across hosts)."""
    pid, _, started = owner.partition("-")
    if not pid.isdigit():
        return True  # not a claims folder of ours: leave it alone
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: alive
    return not started or _start_time(int(pid)) == started


class Transport(filesystem.Transport):
    Channel = Channel

    def __init__(self, client, **kwargs):
        if client.transport_options.get("store_processed"):
            raise ValueError("missionapp.broker does not keep processed messages")
        super().__init__(client, **kwargs)
