"""deploy/k8s and deploy/pgbouncer, checked offline.

Each manifest is validated against Kubernetes' own schemas in strict mode (kubernetes-validate
and the schemas bundled in it: an unknown or misplaced field fails) and linted (yamllint).
Then what no schema knows: that the settings the pods get are Settings Phresh has and
accepts, that the probes ask routes the app serves, that the stop fits in the grace period,
that the API goes through PgBouncer and the migration Job does not, and that the numbers of
the connection budget add up.
"""

import asyncio
import configparser
import os
import re
import shutil
import socket
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import kubernetes_validate  # type: ignore[import-untyped]  # ships no annotations
import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no annotations
from pydantic import SecretStr
from yamllint import linter  # type: ignore[import-untyped]  # ships no annotations
from yamllint.config import YamlLintConfig  # type: ignore[import-untyped]

from phresh.config import ENV_PREFIX, Settings
from phresh.main import create_app
from tests.fixtures.database import make_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S = DEPLOY / "k8s"
PGBOUNCER_INI = DEPLOY / "pgbouncer" / "pgbouncer.ini"
YAMLLINT_CONFIG = DEPLOY / "yamllint.yaml"
DOCS = [
    DEPLOY / "k8s" / "README.md",
    DEPLOY / "pgbouncer" / "README.md",
    DEPLOY.parent / "docs" / "scaling.md",
]
KUSTOMIZATION = K8S / "kustomization.yaml"
MANIFESTS = sorted(path for path in K8S.glob("*.yaml") if path != KUSTOMIZATION)
# Applied on their own, never by `kubectl apply -k`: the Secret templates (their
# placeholders would overwrite the real Secrets) and the once-per-release migration Job.
NOT_IN_KUSTOMIZATION = {
    *(path.name for path in K8S.glob("*.template.yaml")),
    "migrate-job.yaml",
}
# The oldest Kubernetes the manifests are meant for, and the newest the package knows.
KUBERNETES_VERSIONS = ("1.29", kubernetes_validate.latest_version())

# Variables the manifests set that are not Phresh's settings, and why.
OTHER_VARIABLES = {
    # The password `phresh db create-app-role --password $(APP_DB_PASSWORD)` gives the role.
    "APP_DB_PASSWORD",
}
PHRESH_VARIABLE = re.compile(rf"\b{ENV_PREFIX}[A-Z0-9_]+\b")
# Kubernetes puts $(NAME) in a command from the container's environment.
COMMAND_VARIABLE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")

# The budget's assumptions about PostgreSQL, which these manifests do not run: its default
# max_connections and superuser_reserved_connections, and what the migration Job and a
# person with psql take directly.
POSTGRES_MAX_CONNECTIONS = 100
POSTGRES_RESERVED_CONNECTIONS = 3
ADMIN_CONNECTIONS = 3
# Each server process keeps two connections of its own in LISTEN, straight to PostgreSQL:
# the live events' listener and the mail worker's.
LISTEN_CONNECTIONS_PER_PROCESS = 2
# PgBouncer's default for max_prepared_statements from 1.24 on (0, i.e. off, before).
PREPARED_STATEMENTS_BY_DEFAULT_SINCE = (1, 24)
PREPARED_STATEMENTS_DEFAULT = 200

Manifest = dict[str, Any]


def documents(path: Path) -> list[Manifest]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


@cache
def all_objects() -> dict[tuple[str, str], Manifest]:
    return {
        (document["kind"], document["metadata"]["name"]): document
        for path in MANIFESTS
        for document in documents(path)
    }


def the(kind: str, name: str) -> Manifest:
    return all_objects()[(kind, name)]


def pod_spec(kind: str, name: str) -> Manifest:
    spec: Manifest = the(kind, name)["spec"]["template"]["spec"]
    return spec


def containers(spec: Manifest) -> list[Manifest]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def environment(container: Manifest) -> dict[str, str]:
    """The variables ``container`` gets, from the ConfigMaps and Secret templates here."""

    def data_of(kind: str, name: str) -> dict[str, str]:
        source = the(kind, name)
        values: dict[str, str] = source.get("data", {}) | source.get("stringData", {})
        return values

    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env |= data_of("ConfigMap", source["configMapRef"]["name"])
        else:
            env |= data_of("Secret", source["secretRef"]["name"])
    for variable in container.get("env", []):
        if "value" in variable:
            env[variable["name"]] = variable["value"]
        else:
            ref = variable["valueFrom"]
            kind, key = (
                ("Secret", "secretKeyRef")
                if "secretKeyRef" in ref
                else ("ConfigMap", "configMapKeyRef")
            )
            env[variable["name"]] = data_of(kind, ref[key]["name"])[ref[key]["key"]]
    return env


def settings_from(env: dict[str, str]) -> Settings:
    """The Settings a process with ``env`` builds (and their validation), without reading
    this machine's environment or .env."""
    return Settings.model_validate(
        {
            name.removeprefix(ENV_PREFIX).lower(): value
            for name, value in env.items()
            if name.startswith(ENV_PREFIX)
        }
    )


def api_container() -> Manifest:
    container: Manifest
    (container,) = pod_spec("Deployment", "phresh-api")["containers"]
    return container


def api_settings() -> Settings:
    return settings_from(environment(api_container()))


def pgbouncer_ini() -> configparser.ConfigParser:
    ini = configparser.ConfigParser(interpolation=None)
    ini.read_string(PGBOUNCER_INI.read_text())
    return ini


def pgbouncer_database(name: str) -> dict[str, str]:
    """A [databases] entry's connection string (host=... port=... dbname=...) as a dict."""
    return dict(part.split("=", 1) for part in pgbouncer_ini()["databases"][name].split())


def url_of(secret: SecretStr | None) -> tuple[str | None, str | None, int | None, str]:
    """(user, host, port, database) of a URL setting."""
    assert secret is not None
    parts = urlsplit(secret.get_secret_value())
    return parts.username, parts.hostname, parts.port, parts.path.lstrip("/")


def kubernetes_documents() -> Iterator[Any]:
    for path in MANIFESTS:
        for document in documents(path):
            name = f"{path.name}:{document['kind']}/{document['metadata']['name']}"
            yield pytest.param(document, id=name)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("document", list(kubernetes_documents()))
def test_each_manifest_is_valid_against_the_kubernetes_schemas_in_strict_mode(
    document: Manifest, version: str
) -> None:
    # The library, not the CLI: the CLI only warns about a kind it has no schema for (the
    # library raises SchemaNotFoundError, and the test fails).
    try:
        kubernetes_validate.validate(document, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(item) for item in exc.path)
        pytest.fail(f"{where}: {exc.message}")


@pytest.mark.parametrize("path", [*MANIFESTS, KUSTOMIZATION], ids=lambda path: path.name)
def test_each_manifest_passes_yamllint(path: Path) -> None:
    config = YamlLintConfig(file=str(YAMLLINT_CONFIG))
    problems = [
        f"{path.name}:{problem.line}:{problem.column} {problem.desc} ({problem.rule})"
        for problem in linter.run(path.read_text(), config, str(path))
    ]
    assert problems == []


def test_the_kustomization_lists_every_manifest_but_the_templates_and_the_job() -> None:
    (kustomization,) = documents(KUSTOMIZATION)
    listed = set(kustomization["resources"])
    assert listed == {path.name for path in MANIFESTS} - NOT_IN_KUSTOMIZATION


def test_every_phresh_variable_the_deploy_files_and_their_docs_name_is_a_setting() -> None:
    # Comments and prose included: text that names a variable is checked like code.
    settings = {ENV_PREFIX + field.upper() for field in Settings.model_fields}
    named = {
        (path.name, variable)
        for path in [*MANIFESTS, PGBOUNCER_INI, *DOCS]
        for variable in PHRESH_VARIABLE.findall(path.read_text())
    }
    assert named, "no PHRESH_ variable found: the pattern is broken"
    assert {(file, variable) for file, variable in named if variable not in settings} == set()


def test_every_other_variable_of_a_container_is_known_and_every_command_variable_is_set() -> None:
    for (kind, name), document in all_objects().items():
        if kind not in {"Deployment", "Job"}:
            continue
        for container in containers(document["spec"]["template"]["spec"]):
            env = environment(container)
            others = {variable for variable in env if not variable.startswith(ENV_PREFIX)}
            assert others <= OTHER_VARIABLES, f"{name}/{container['name']}"
            for variable in COMMAND_VARIABLE.findall(" ".join(container.get("command", []))):
                assert variable in env, f"{name}/{container['name']}: $({variable}) is not set"


def test_the_pods_of_phresh_get_settings_that_pass_validation() -> None:
    # Production's rules: a private JWT secret of 32 characters and more, URLs PostgreSQL
    # understands, a LISTEN URL beside a pooled one ...
    for kind, name in (("Deployment", "phresh-api"), ("Job", "phresh-migrate")):
        for container in containers(pod_spec(kind, name)):
            settings = settings_from(environment(container))
            assert settings.environment == "production", f"{name}/{container['name']}"


def test_no_pod_gets_kubernetes_service_variables() -> None:
    # A Service named phresh would give every pod PHRESH_PORT=tcp://10.0.0.1:80 (phresh-api:
    # PHRESH_API_PORT=...), which Settings reads as its own.
    for (kind, name), document in all_objects().items():
        if kind in {"Deployment", "Job"}:
            assert document["spec"]["template"]["spec"]["enableServiceLinks"] is False, name


def test_the_probes_ask_the_health_routes_the_app_serves() -> None:
    app = create_app(make_settings("postgresql://phresh@127.0.0.1:1/none"))
    live, ready = app.url_path_for("read_liveness"), app.url_path_for("read_readiness")
    container = api_container()
    assert container["startupProbe"]["httpGet"]["path"] == live
    assert container["livenessProbe"]["httpGet"]["path"] == live
    assert container["readinessProbe"]["httpGet"]["path"] == ready
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert ports[container[probe]["httpGet"]["port"]] == api_settings().port


def test_the_grace_period_covers_the_drain_and_the_requests_in_flight() -> None:
    settings = api_settings()
    drain, grace = settings.shutdown_drain_s_or_default(), settings.shutdown_grace_s
    spec = pod_spec("Deployment", "phresh-api")
    assert spec["terminationGracePeriodSeconds"] > drain + grace
    # Whatever polls readiness sees the 503s and takes the pod out while it still serves.
    readiness = api_container()["readinessProbe"]
    assert readiness["periodSeconds"] * readiness["failureThreshold"] <= drain
    # The drain is the app's own; a preStop hook would only add to it.
    assert "lifecycle" not in api_container()


def test_the_api_goes_through_pgbouncer_and_listens_directly_and_does_not_migrate() -> None:
    settings = api_settings()
    assert settings.migrate_on_start is False
    assert settings.db_pooler == "pgbouncer"
    # The schema owner's password stays with the migration Job.
    assert settings.database_admin_url is None
    assert settings.database_url is not None
    assert settings.database_listen_url is not None
    user, host, port, database = url_of(settings.database_url)
    service = the("Service", "pgbouncer")
    assert (host, port) == (service["metadata"]["name"], service["spec"]["ports"][0]["port"])
    assert database in pgbouncer_ini()["databases"]
    primary = pgbouncer_database(database)
    assert url_of(settings.database_listen_url) == (
        user,
        primary["host"],
        int(primary["port"]),
        primary["dbname"],
    )


def test_the_migration_job_migrates_straight_to_postgresql_as_the_owner() -> None:
    spec = pod_spec("Job", "phresh-migrate")
    migrate, app_role = containers(spec)
    assert migrate["command"] == ["phresh", "db", "upgrade"]
    assert app_role["command"][:4] == ["phresh", "db", "create-app-role", "phresh_app"]
    for container in (migrate, app_role):
        settings = settings_from(environment(container))
        assert settings.database_admin_url is not None
        assert settings.database_url is None
        owner, host, port, database = url_of(settings.database_admin_url)
        primary = pgbouncer_database(database)
        assert (host, port, database) == (primary["host"], int(primary["port"]), primary["dbname"])
        assert owner != "phresh_app"
    # The role the Job makes is the one the API and PgBouncer's user list log in as.
    app_user, *_ = url_of(api_settings().database_url)
    userlist = the("Secret", "pgbouncer-userlist")["stringData"]["userlist.txt"]
    assert app_role["command"][3] == app_user
    assert userlist.splitlines()[0].startswith(f'"{app_user}" ')


def test_pgbouncer_runs_the_ini_of_deploy_pgbouncer_in_transaction_mode() -> None:
    ini = pgbouncer_ini()
    settings = ini["pgbouncer"]
    assert settings["pool_mode"] == "transaction"
    ignored = {name.strip() for name in settings.get("ignore_startup_parameters", "").split(",")}
    timeouts = {"statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout"}
    assert not ignored & timeouts, "dropped silently: they belong to the role"
    # The ConfigMap is the file, verbatim.
    assert (
        the("ConfigMap", "pgbouncer-config")["data"]["pgbouncer.ini"] == PGBOUNCER_INI.read_text()
    )
    (container,) = pod_spec("Deployment", "pgbouncer")["containers"]
    (mount,) = container["volumeMounts"]
    assert container["command"][-1] == f"{mount['mountPath']}/pgbouncer.ini"
    assert Path(settings["auth_file"]).parent == Path(mount["mountPath"])
    assert container["ports"][0]["containerPort"] == int(settings["listen_port"])
    assert (
        the("Service", "pgbouncer")["spec"]["ports"][0]["targetPort"]
        == container["ports"][0]["name"]
    )


def test_asyncpg_caches_statements_only_where_pgbouncer_tracks_them() -> None:
    cache = api_settings().db_statement_cache_size_or_default()
    if cache == 0:
        return
    (container,) = pod_spec("Deployment", "pgbouncer")["containers"]
    version = re.search(r":v?(\d+)\.(\d+)\.(\d+)", container["image"])
    assert version is not None, f"no version in the image tag {container['image']}"
    assert tuple(int(part) for part in version.groups()[:2]) >= PREPARED_STATEMENTS_BY_DEFAULT_SINCE
    tracked = int(
        pgbouncer_ini()["pgbouncer"].get("max_prepared_statements", PREPARED_STATEMENTS_DEFAULT)
    )
    assert tracked >= cache


def test_the_selectors_find_their_pods() -> None:
    labels = {
        name: the("Deployment", name)["spec"]["template"]["metadata"]["labels"]
        for name in ("phresh-api", "pgbouncer")
    }
    for name in labels:
        selector = the("Deployment", name)["spec"]["selector"]["matchLabels"]
        assert selector.items() <= labels[name].items()
        assert the("Service", name)["spec"]["selector"].items() <= labels[name].items()
        pdb = the("PodDisruptionBudget", name)["spec"]["selector"]["matchLabels"]
        assert pdb.items() <= labels[name].items()
    target = the("HorizontalPodAutoscaler", "phresh-api")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) in all_objects()


def test_the_connection_budget_adds_up() -> None:
    settings = api_settings()
    processes = (
        the("HorizontalPodAutoscaler", "phresh-api")["spec"]["maxReplicas"] * settings.workers
    )
    pooler = pgbouncer_ini()["pgbouncer"]
    # Every client connection may land on the same PgBouncer.
    assert processes * settings.db_pool_size <= int(pooler["max_client_conn"])
    server_connections = the("Deployment", "pgbouncer")["spec"]["replicas"] * int(
        pooler["default_pool_size"]
    )
    direct = processes * LISTEN_CONNECTIONS_PER_PROCESS + ADMIN_CONNECTIONS
    assert server_connections + direct + POSTGRES_RESERVED_CONNECTIONS <= POSTGRES_MAX_CONNECTIONS


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def replace_setting(text: str, name: str, value: str) -> str:
    changed, count = re.subn(rf"(?m)^{name} = .*$", f"{name} = {value}", text)
    assert count == 1, f"{name} is not set once in {PGBOUNCER_INI}"
    return changed


async def test_the_ini_starts_this_machines_pgbouncer_and_lets_in_its_user_list(
    tmp_path: Path,
) -> None:
    binary = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")
    if binary is None:
        pytest.skip("no pgbouncer on this machine (Debian: apt-get install pgbouncer)")
    port = free_port()
    userlist = tmp_path / "userlist.txt"
    userlist.write_text('"pgbouncer_stats" "stats-password"\n')
    ini = PGBOUNCER_INI.read_text()
    for name, value in (
        ("listen_addr", "127.0.0.1"),
        ("listen_port", str(port)),
        ("auth_file", str(userlist)),
    ):
        ini = replace_setting(ini, name, value)
    config = tmp_path / "pgbouncer.ini"
    config.write_text(ini)
    log = tmp_path / "pgbouncer.log"
    # PgBouncer refuses to run as root; -u drops to another user once the files are read.
    as_user = ["-u", "nobody"] if os.geteuid() == 0 else []
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(binary, *as_user, str(config), stderr=stderr)
    try:
        async with asyncio.timeout(10):
            while True:
                if process.returncode is not None:
                    pytest.fail(f"pgbouncer stopped: {log.read_text()}")
                try:
                    console = await asyncpg.connect(
                        f"postgresql://pgbouncer_stats:stats-password@127.0.0.1:{port}/pgbouncer"
                    )
                    break
                except OSError:
                    await asyncio.sleep(0.05)
        try:
            # The console speaks the simple protocol only: execute, not fetch.
            assert await console.execute("SHOW POOLS") == "SHOW"
        finally:
            await console.close()
    finally:
        process.terminate()
        await process.wait()
