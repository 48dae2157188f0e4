"""The embedded broker (missionapp/broker.py) hands out whole messages, each once, while many
processes and threads publish at the same time; a real worker runs every task sent at once."""

import re

import pytest
from kombu import Connection

from conftest import in_thread, wait_for
from missionapp.broker import Transport


def _connection(folder, **options):
    return Connection(
        "filesystem://",
        transport=Transport,
        transport_options={
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
            **options,
        },
    )


def _write(folder, n, count, body):
    with _connection(folder) as conn:
        channel = conn.default_channel
        for i in range(count):
            channel._put("q", {"id": f"{n}-{i}", "body": body})


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "queue").mkdir()
    (tmp_path / "control").mkdir()
    return tmp_path


def test_a_message_being_written_is_not_yet_in_the_queue(folder, monkeypatch):
    """Deterministic: a consumer looks at the queue while a message is being written (kombu's
    own `_put` had created `<name>.q.msg` empty by then: `loads` failed and the worker's
    consumer stopped). Here it finds nothing, and then the whole message."""
    from queue import Empty

    from missionapp import broker

    seen_during_write = []
    with _connection(folder) as writer, _connection(folder) as reader:
        consumer = reader.default_channel
        encode = broker.str_to_bytes

        def encode_and_look(text):
            try:
                seen_during_write.append(consumer._get("q"))
            except Empty:
                seen_during_write.append("empty")
            return encode(text)

        monkeypatch.setattr(broker, "str_to_bytes", encode_and_look)
        writer.default_channel._put("q", {"id": 1})
        monkeypatch.undo()
        assert seen_during_write == ["empty"]
        assert consumer._get("q") == {"id": 1}
        with pytest.raises(Empty):
            consumer._get("q")


def test_writers_and_consumers_racing_get_each_message_once(folder):
    """Writer processes and two consumers on one folder: every message arrives whole, once
    (kombu moved a taken file to /tmp, a copy when /tmp is another filesystem)."""
    import multiprocessing
    from queue import Empty

    writers, per_writer = 3, 100
    body = [{"n": i, "text": "x" * 20} for i in range(500)]
    errors, received = [], []
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_write, args=(folder, n, per_writer, body)) for n in range(writers)
    ]

    def consume():
        with _connection(folder) as conn:
            channel = conn.default_channel
            while True:
                try:
                    message = channel._get("q")
                except Empty:
                    if not any(p.is_alive() for p in processes) and not channel._size("q"):
                        return
                    continue
                assert message["body"] == body
                received.append(message["id"])

    consumers = [in_thread(consume, errors) for _ in range(2)]
    for process in processes:
        process.start()
    for thread in consumers:
        thread.start()
    for process in processes:
        process.join(timeout=120)
    for thread in consumers:
        thread.join(timeout=60)
    assert [p.exitcode for p in processes] == [0] * writers
    assert errors == []
    expected = {f"{n}-{i}" for n in range(writers) for i in range(per_writer)}
    assert len(received) == len(expected)  # each once: two consumers never share one
    assert set(received) == expected
    assert not [p for p in (folder / "queue").rglob("*") if p.is_file()]


def test_a_file_that_is_not_a_message_is_set_aside_and_the_next_one_delivered(folder, caplog):
    from queue import Empty

    with _connection(folder) as conn:
        channel = conn.default_channel
        (folder / "queue" / "1_damaged.q.msg").write_bytes(b"")
        channel._put("q", {"id": "after"})
        assert channel._get("q") == {"id": "after"}
        with pytest.raises(Empty):
            channel._get("q")
    assert (folder / "queue" / "claimed" / "1_damaged.q.msg.bad").exists()
    assert "1_damaged.q.msg is not a message (0 bytes)" in caplog.text


def test_what_a_crash_left_is_cleaned_up_or_delivered_again(folder):
    """A writer that died mid-write left a `.part`; a consumer that died between taking a
    message and reading it left it in `claimed/`. Old ones are dealt with by the next
    consumer; recent ones (perhaps a live process's) are left alone."""
    import time
    from queue import Empty

    queue, claimed = folder / "queue", folder / "queue" / "claimed"
    claimed.mkdir()
    (queue / "1_a.q.msg.part").write_text('{"id": "ha')
    (claimed / "2_b.q.msg").write_text('{"id": "taken by a consumer that died"}')
    time.sleep(1.2)
    (queue / "3_c.q.msg.part").write_text('{"id": "be')  # being written now
    (claimed / "4_d.q.msg").write_text('{"id": "being read now"}')
    with _connection(folder, stale_seconds=1.0) as conn:
        channel = conn.default_channel
        assert channel._get("q") == {"id": "taken by a consumer that died"}
        with pytest.raises(Empty):
            channel._get("q")
    assert sorted(p.name for p in queue.iterdir()) == ["3_c.q.msg.part", "claimed"]
    assert [p.name for p in claimed.iterdir() if p.is_file()] == ["4_d.q.msg"]


def _publish(folder, *bodies):
    with _connection(folder) as conn:
        producer = conn.Producer()
        for body in bodies:
            producer.publish(body, routing_key="q", declare=[conn.SimpleQueue("q").queue])


def _take_and_die(folder, acknowledge_first=0):
    """A consumer process that takes messages (acknowledging the first few) and is killed
    before it acknowledges the next: as a worker killed mid-task."""
    import os

    with _connection(folder) as conn:
        channel = conn.default_channel
        for _ in range(acknowledge_first):
            done = channel.basic_get("q", no_ack=False)
            done.ack()
            with open(folder / "acknowledged", "a") as f:
                f.write(done.payload["task"] + "\n")
        taken = channel.basic_get("q", no_ack=False)
        assert taken is not None
        os.kill(os.getpid(), 9)


def _claims(folder):
    return [p for p in (folder / "queue" / "claimed").rglob("*.msg")]


def test_a_message_goes_back_to_the_queue_when_its_consumer_dies_before_acknowledging(folder):
    """kombu's transport deleted a message when a consumer took it: a worker killed while
    running the task lost it. Here it is kept under the consumer's claims until acknowledged,
    and the next consumer puts back what a dead one held, at once."""
    import multiprocessing

    _publish(folder, {"task": "first"}, {"task": "second"}, {"task": "third"})
    process = multiprocessing.get_context("fork").Process(target=_take_and_die, args=(folder, 1))
    process.start()
    process.join(timeout=60)
    assert process.exitcode == -9
    # The acknowledged one is gone; the one being worked on is held by the dead consumer.
    assert len(_claims(folder)) == 1
    with _connection(folder) as conn:
        queue = conn.SimpleQueue("q")
        got = []
        for _ in range(2):
            message = queue.get(timeout=5)
            got.append(message.payload["task"])
            message.ack()
        acknowledged = (folder / "acknowledged").read_text().split()
        assert len(acknowledged) == 1
        assert sorted(got + acknowledged) == ["first", "second", "third"]
        with pytest.raises(queue.Empty):
            queue.get(timeout=0.5)
    assert _claims(folder) == []


def test_a_live_consumers_unacknowledged_messages_stay_its_own(folder):
    """A long task: the worker running it is alive, so no other consumer takes its message
    (a visibility timeout would hand it to a second worker while the first still runs)."""
    _publish(folder, {"task": "long"})
    with _connection(folder) as first, _connection(folder) as second:
        held = first.default_channel.basic_get("q", no_ack=False)
        assert held.payload == {"task": "long"}
        second.default_channel._next_recovery = 0.0  # look for dead consumers' claims now
        assert second.default_channel.basic_get("q", no_ack=False) is None
        held.ack()
    assert _claims(folder) == []


def test_a_rejected_message_is_requeued_once_or_dropped(folder):
    _publish(folder, {"task": "again"}, {"task": "never"})
    with _connection(folder) as conn:
        channel = conn.default_channel
        taken = {m.payload["task"]: m for m in [channel.basic_get("q", no_ack=False)
                                                 for _ in range(2)]}  # fmt: skip
        taken["again"].reject(requeue=True)
        taken["never"].reject(requeue=False)
        again = channel.basic_get("q", no_ack=False)
        assert again.payload == {"task": "again"}
        again.ack()
        assert channel.basic_get("q", no_ack=False) is None
    assert _claims(folder) == []


def test_a_closing_channel_puts_back_what_it_held_and_drops_its_claims(folder):
    _publish(folder, {"task": "held at shutdown"})
    with _connection(folder) as conn:
        assert conn.default_channel.basic_get("q", no_ack=False) is not None
    # A warm shutdown: kombu restores the unacknowledged message, the claim goes.
    assert _claims(folder) == []
    with _connection(folder) as conn:
        assert conn.default_channel.basic_get("q", no_ack=True).payload == {
            "task": "held at shutdown"
        }
    assert _claims(folder) == []


def test_keeping_processed_messages_is_refused_not_ignored(folder):
    connection = _connection(folder, store_processed=True)
    with pytest.raises(ValueError, match="does not keep processed messages"):
        connection.transport  # noqa: B018 - making the transport is what is refused


def test_the_configured_broker_is_the_atomic_one_on_the_embedded_stack(settings):
    from missionapp.celery import app

    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        with app.connection_for_write() as conn:
            assert isinstance(conn.transport, Transport)
    else:
        assert not hasattr(settings, "CELERY_BROKER_TRANSPORT")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_every_task_sent_at_once_from_many_threads(celery_worker):
    """The flake this broker fixes: many tasks sent at once, and the worker stopped consuming.
    Here 8 threads send 12 tasks each; the worker's log shows each of the 96 succeed."""
    from core.tasks import audit_seal

    ids, errors = [], []

    def send():
        for _ in range(12):
            ids.append(audit_seal.delay().id)

    threads = [in_thread(send, errors) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(ids)) == 96

    def succeeded():
        log = celery_worker.log_path.read_text()
        return set(re.findall(r"core\.tasks\.audit_seal\[([0-9a-f-]+)\] succeeded", log))

    wait_for(lambda: set(ids) <= succeeded(), timeout=90, message="all 96 tasks")
    # The worker still consumes after the burst: one more task runs.
    last = audit_seal.delay().id
    wait_for(lambda: last in succeeded(), message="a task after the burst")
    assert "JSONDecodeError" not in celery_worker.log_path.read_text()
