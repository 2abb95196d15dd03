"""The Elastic Beanstalk configuration: valid, only known options, and consistent with the app.

AWS is out of reach of CI, so a typo in an option name (which EB rejects only at deploy
time, or silently ignores) is caught here against the list of options we use, each
checked in the EB documentation ("General options for all environments", "Python
platform options").
"""

from __future__ import annotations

import io
import re
import shlex
import subprocess
import zipfile
from pathlib import Path

import pytest
import yaml

from shortener import create_app
from sre.bundle import build_bundle
from sre.ebconfig import config_files, environment_defaults, load_config, option_settings
from sre.progress import Progress
from tests.support.require import need_program
from tests.support.servers import ROOT

KNOWN_OPTIONS: dict[str, set[str]] = {
    "aws:elasticbeanstalk:command": {
        "DeploymentPolicy",
        "Timeout",
        "IgnoreHealthCheck",
        "BatchSize",
        "BatchSizeType",
    },
    "aws:autoscaling:updatepolicy:rollingupdate": {
        "RollingUpdateEnabled",
        "RollingUpdateType",
        "MaxBatchSize",
        "MinInstancesInService",
        "PauseTime",
        "Timeout",
    },
    "aws:autoscaling:asg": {"MinSize", "MaxSize", "Availability Zones", "Cooldown"},
    "aws:elasticbeanstalk:environment": {
        "EnvironmentType",
        "LoadBalancerType",
        "ServiceRole",
        "LoadBalancerIsShared",
    },
    "aws:elasticbeanstalk:environment:process:default": {
        "HealthCheckPath",
        "HealthCheckInterval",
        "HealthCheckTimeout",
        "HealthyThresholdCount",
        "UnhealthyThresholdCount",
        "MatcherHTTPCode",
        "DeregistrationDelay",
        "Port",
        "Protocol",
        "StickinessEnabled",
    },
    "aws:elasticbeanstalk:healthreporting:system": {
        "SystemType",
        "ConfigDocument",
        "HealthCheckSuccessThreshold",
        "EnhancedHealthAuthEnabled",
    },
    "aws:elasticbeanstalk:application:environment": set(),  # any variable name
    "aws:elasticbeanstalk:environment:proxy": {"ProxyServer"},
    "aws:elasticbeanstalk:environment:proxy:staticfiles": set(),  # URL paths
    "aws:elasticbeanstalk:cloudwatch:logs": {"StreamLogs", "DeleteOnTerminate", "RetentionInDays"},
    "aws:elasticbeanstalk:cloudwatch:logs:health": {
        "HealthStreamingEnabled",
        "DeleteOnTerminate",
        "RetentionInDays",
    },
    "aws:elasticbeanstalk:customoption": set(),  # our own names, read by Fn::GetOptionSetting
}
FREE_NAMES = {
    "aws:elasticbeanstalk:application:environment": re.compile(r"^[A-Z][A-Z0-9_]*$"),
    "aws:elasticbeanstalk:environment:proxy:staticfiles": re.compile(r"^/[a-z0-9/_-]*$"),
    "aws:elasticbeanstalk:customoption": re.compile(r"^[A-Za-z][A-Za-z0-9]*$"),
}
CONFIG_SECTIONS = {"option_settings", "Resources", "container_commands", "commands", "files"}
# CloudWatch log retention values AWS accepts.
RETENTION_DAYS = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653}
SECRET_NAME = re.compile(r"SECRET|TOKEN|PASSWORD|PRIVATE|CREDENTIAL|_KEY$|^AWS_")
SLA_BUDGET = 1 - 0.999962  # 20 minutes a year
SECONDS_PER_30_DAYS_OF_BUDGET = 30 * 24 * 3600 * SLA_BUDGET  # ~99 s


@pytest.fixture(scope="module")
def settings() -> dict[str, dict[str, object]]:
    return option_settings(ROOT)


@pytest.fixture(scope="module")
def resources() -> dict[str, dict]:
    merged: dict[str, dict] = {}
    for path in config_files(ROOT):
        merged.update(load_config(path).get("Resources") or {})
    return merged


@pytest.fixture(scope="module")
def bundle_names(tmp_path_factory: pytest.TempPathFactory) -> dict[str, zipfile.ZipInfo]:
    dist = tmp_path_factory.mktemp("dist")
    bundle = build_bundle(ROOT, dist, label="config-test", progress=Progress("", io.StringIO()))
    with zipfile.ZipFile(bundle) as archive:
        return {info.filename: info for info in archive.infolist()}


def test_every_config_file_is_plain_yaml_with_known_sections() -> None:
    files = config_files(ROOT)
    assert files, "no .ebextensions/*.config"
    for path in files:
        document = yaml.safe_load(path.read_text())  # `!Ref` short forms would fail here
        assert isinstance(document, dict), path.name
        assert set(document) <= CONFIG_SECTIONS, f"{path.name}: {set(document) - CONFIG_SECTIONS}"


def test_only_known_namespaces_and_options(settings) -> None:
    for namespace, options in settings.items():
        assert namespace in KNOWN_OPTIONS, f"unknown namespace {namespace}"
        for name in options:
            if namespace in FREE_NAMES:
                assert FREE_NAMES[namespace].match(name), f"{namespace}: {name}"
            else:
                assert name in KNOWN_OPTIONS[namespace], f"unknown option {namespace}: {name}"


def test_deploys_and_configuration_changes_are_immutable(settings) -> None:
    command = settings["aws:elasticbeanstalk:command"]
    assert command["DeploymentPolicy"] == "Immutable"
    assert command["IgnoreHealthCheck"] is False
    rolling = settings["aws:autoscaling:updatepolicy:rollingupdate"]
    assert rolling["RollingUpdateType"] == "Immutable"
    assert rolling["RollingUpdateEnabled"] is True
    # Immutable deploys need enhanced health, and the ALB for the 5xx alarms.
    assert settings["aws:elasticbeanstalk:healthreporting:system"]["SystemType"] == "enhanced"
    assert settings["aws:elasticbeanstalk:environment"]["LoadBalancerType"] == "application"
    assert int(settings["aws:autoscaling:asg"]["MinSize"]) >= 2


def test_the_health_check_path_is_the_apps_readiness_route(settings) -> None:
    path = settings["aws:elasticbeanstalk:environment:process:default"]["HealthCheckPath"]
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    endpoint, _ = app.url_map.bind("localhost").match(path, method="GET")
    assert endpoint.endswith("readyz"), f"{path} is served by {endpoint}, not the readiness check"


def test_a_failing_instance_leaves_rotation_within_the_budget(settings) -> None:
    process = settings["aws:elasticbeanstalk:environment:process:default"]
    interval = int(process["HealthCheckInterval"])
    timeout = int(process["HealthCheckTimeout"])
    unhealthy = int(process["UnhealthyThresholdCount"])
    healthy = int(process["HealthyThresholdCount"])
    # The ALB's accepted ranges.
    assert 5 <= interval <= 300 and 2 <= timeout < interval
    assert 2 <= unhealthy <= 10 and 2 <= healthy <= 10
    worst_detection = unhealthy * interval + timeout
    assert worst_detection <= 0.15 * SECONDS_PER_30_DAYS_OF_BUDGET  # defaults: 75 s = 76 %


def test_client_errors_do_not_degrade_health(settings) -> None:
    document = settings["aws:elasticbeanstalk:healthreporting:system"]["ConfigDocument"]
    rules = document["Rules"]["Environment"]
    assert rules["Application"]["ApplicationRequests4xx"]["Enabled"] is False
    assert rules["ELB"]["ELBRequests4xx"]["Enabled"] is False


def test_logs_are_streamed_and_kept(settings) -> None:
    for namespace, switch in (
        ("aws:elasticbeanstalk:cloudwatch:logs", "StreamLogs"),
        ("aws:elasticbeanstalk:cloudwatch:logs:health", "HealthStreamingEnabled"),
    ):
        logs = settings[namespace]
        assert logs[switch] is True
        assert logs["DeleteOnTerminate"] is False
        assert int(logs["RetentionInDays"]) in RETENTION_DAYS


def test_nginx_serves_the_static_folder(settings, bundle_names) -> None:
    static = settings["aws:elasticbeanstalk:environment:proxy:staticfiles"]
    assert static == {"/static": "static"}
    assert any(name.startswith("static/") for name in bundle_names)


def test_environment_defaults_hold_no_secrets(settings) -> None:
    defaults = environment_defaults(ROOT)
    assert defaults["APP_ENV"] == "production"
    assert defaults["PROXY_HOPS"] == "2"  # the ALB and the instance's nginx
    assert not [name for name in defaults if SECRET_NAME.search(name)]
    for path in [*config_files(ROOT), ROOT / ".elasticbeanstalk/config.yml"]:
        text = path.read_text()
        assert not re.search(r"AKIA[0-9A-Z]{16}", text), f"an AWS key in {path.name}"
        assert "aws_secret_access_key" not in text.lower()


def test_migrations_run_once_per_deploy_in_the_platform_venv() -> None:
    commands = {}
    for path in config_files(ROOT):
        commands.update(load_config(path).get("container_commands") or {})
    migrate = [c for c in commands.values() if "schema upgrade" in c["command"]]
    assert len(migrate) == 1
    assert migrate[0]["leader_only"] is True
    assert migrate[0]["command"].startswith("source /var/app/venv/*/bin/activate && ")
    assert "flask --app application schema upgrade" in migrate[0]["command"]


def test_the_upload_limit_lets_the_app_answer(settings) -> None:
    conf = (ROOT / ".platform/nginx/conf.d/shortener.conf").read_text()
    nginx_mb = int(re.search(r"^client_max_body_size (\d+)m;", conf, re.M).group(1))
    app_mb = int(environment_defaults(ROOT)["MAX_UPLOAD_MB"])
    # Above the app's limit (so the app answers 413 with its form), but not far above.
    assert app_mb < nginx_mb <= app_mb + 2


def test_the_nginx_additions_are_valid_nginx(tmp_path: Path) -> None:
    nginx = need_program("nginx")
    main_conf = tmp_path / "nginx.conf"
    main_conf.write_text(
        f"pid {tmp_path}/nginx.pid;\n"
        f"error_log {tmp_path}/error.log;\n"
        "events {}\n"
        "http {\n"
        f"  include {ROOT}/.platform/nginx/conf.d/*.conf;\n"
        "  server { listen 127.0.0.1:1; location / { proxy_pass http://127.0.0.1:2; } }\n"
        "}\n"
    )
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(main_conf)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_alarms_cover_health_5xx_and_budget_burn(resources) -> None:
    alarms = {k: v for k, v in resources.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    topics = {k for k, v in resources.items() if v["Type"] == "AWS::SNS::Topic"}
    assert topics
    metrics = set()
    for name, alarm in alarms.items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": topic} for topic in topics], name
        metrics.add(props.get("MetricName"))
        for query in props.get("Metrics", []):
            metrics.add(query.get("MetricStat", {}).get("Metric", {}).get("MetricName"))
    assert {"EnvironmentHealth", "HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count"} <= metrics
    burn = next(a["Properties"] for a in alarms.values() if "Metrics" in a["Properties"])
    # The SRE Workbook's fast burn: 14.4 times the budget's error ratio.
    assert burn["Threshold"] == pytest.approx(14.4 * SLA_BUDGET, rel=0.01)
    periods = {q["MetricStat"]["Period"] for q in burn["Metrics"] if "MetricStat" in q}
    assert periods == {300}


def test_every_file_the_procfile_and_hooks_need_is_bundled(bundle_names) -> None:
    procfile = (ROOT / "Procfile").read_text()
    command = shlex.split(procfile.split("web:", 1)[1].splitlines()[0])
    assert command[0] == "gunicorn"
    config = command[command.index("--config") + 1]
    module = command[-1].split(":")[0]
    assert config in bundle_names
    assert f"{module}.py" in bundle_names
    requirements = (ROOT / "requirements.txt").read_text().lower()
    for package in ("gunicorn==", "flask==", "flask-migrate=="):  # Procfile, container command
        assert package in requirements
    assert "shortener/migrations/env.py" in bundle_names
    hooks = [name for name in bundle_names if name.startswith(".platform/hooks/")]
    assert hooks
    for name in hooks:
        mode = bundle_names[name].external_attr >> 16
        assert mode & 0o111 == 0o111, f"{name} is not executable in the bundle"
        assert (ROOT / name).read_text().startswith("#!"), f"{name} has no interpreter line"


def test_hooks_are_executable_in_git() -> None:
    listing = subprocess.run(
        ["git", "ls-files", "-s", ".platform/hooks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert listing
    for line in listing:
        assert line.startswith("100755 "), f"not executable in git: {line}"


def test_the_eb_cli_deploys_the_prebuilt_artifact() -> None:
    config = yaml.safe_load((ROOT / ".elasticbeanstalk/config.yml").read_text())
    assert config["deploy"]["artifact"] == "dist/deploy.zip"
    platform = config["global"]["default_platform"]
    assert "Python 3.11" in platform and "Amazon Linux 2023" in platform
    assert config["branch-defaults"]["default"]["environment"] is None


def test_ebignore_keeps_out_what_the_bundle_leaves_out(bundle_names) -> None:
    ignored = {line.rstrip("/") for line in (ROOT / ".ebignore").read_text().splitlines()}
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    top_level = {path.split("/")[0] for path in tracked}
    bundled_top = {name.split("/")[0] for name in bundle_names}
    assert not [name for name in top_level - bundled_top if name not in ignored]
