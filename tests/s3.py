"""A real S3-compatible object store for the media tests: moto's standalone server, started
once per test run on a free port of 127.0.0.1 and stopped at its end.

`s3_server`: the running server (its endpoint). `s3_media`: a fresh bucket of it for one
test, and Django's default storage pointed at that bucket for the test's duration (as
MEDIA_S3_BUCKET would point it); `s3_media.env` is what a process the test starts needs to
use the same bucket (the MEDIA_S3_* variables).
"""

import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.test import override_settings

from missionapp.settings.base import media_s3_storage

# moto accepts any keys; these only make boto3 sign its requests.
ACCESS_KEY, SECRET_KEY, REGION = "missionapp-test", "missionapp-test-secret", "us-east-1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class S3Server:
    endpoint: str
    proc: subprocess.Popen

    def client(self):
        import boto3

        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name=REGION,
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
        )  # fmt: skip


@dataclass
class S3Media:
    server: S3Server
    bucket: str

    @property
    def env(self) -> dict:
        return {
            "MEDIA_S3_BUCKET": self.bucket,
            "MEDIA_S3_ENDPOINT_URL": self.server.endpoint,
            "MEDIA_S3_REGION": REGION,
            "MEDIA_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "MEDIA_S3_SECRET_ACCESS_KEY": SECRET_KEY,
        }

    def keys(self) -> list[str]:
        listed = self.server.client().list_objects_v2(Bucket=self.bucket)
        return sorted(item["Key"] for item in listed.get("Contents", []))

    def read(self, key: str) -> bytes:
        """An object's bytes, read from the store itself (not through Django)."""
        return self.server.client().get_object(Bucket=self.bucket, Key=key)["Body"].read()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    port = _free_port()
    log_path = tmp_path_factory.mktemp("s3") / "moto.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = S3Server(endpoint=f"http://127.0.0.1:{port}", proc=proc)
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"moto_server did not start:\n{log_path.read_text()[-3000:]}")
        try:
            server.client().list_buckets()
            break
        except Exception:  # noqa: BLE001 - not listening yet
            time.sleep(0.2)
    yield server
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def s3_media(s3_server):
    """A new bucket, and the default storage on it (STORAGES overridden: Django's
    setting_changed handler forgets the storages it made, so default_storage follows)."""
    bucket = f"media-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(Bucket=bucket)
    media = S3Media(server=s3_server, bucket=bucket)
    storage = media_s3_storage(bucket, endpoint_url=s3_server.endpoint, region=REGION,
                               access_key=ACCESS_KEY, secret_key=SECRET_KEY)  # fmt: skip
    with override_settings(STORAGES={**settings.STORAGES, "default": storage}):
        yield media
