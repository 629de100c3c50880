"""Secure config values end to end: a secret reaches its resource as a secret Output or is refused.

How the runtime sees ``pulumi config set --secret --path 'platform:apps[0].appSettings.DB_PASSWORD' ...``:
the engine hands the program the whole ``platform:apps`` object decrypted and lists the top-level key
``platform:apps`` among the secret keys (an object config value is secure when any nested value is:
pulumi/pulumi sdk/go/common/resource/config/value.go). These tests reproduce exactly that (decrypted
value + top-level secret key) and then look at every resource input, the stack outputs and the errors.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from platform_infra.cli.mocks import redact_secrets, run_with_mocks, unwrap_secrets
from platform_infra.cli.plan import project_program, read_stack_files
from platform_infra.config import DictConfigSource, load_stack_config
from platform_infra.validation import ValidationError

from tests.conftest import REPO_ROOT

SECRET = "s3cr3t-Value-7731"


def _run_with_secret(stack: str, key: str, value: Any) -> Any:
    files = read_stack_files(stack, REPO_ROOT)
    config = dict(files.config)
    config[key] = value if isinstance(value, str) else json.dumps(value)
    return run_with_mocks(
        project_program(files),
        stack=stack,
        project=files.project,
        config=config,
        secret_keys=[*files.secret_keys, key],
    )


def _dev_apps() -> list[dict[str, Any]]:
    return json.loads(read_stack_files("dev", REPO_ROOT).config["platform:apps"])


def test_a_secure_app_setting_reaches_the_app_only_as_a_secret() -> None:
    apps = _dev_apps()
    apps[0]["appSettings"]["DB_PASSWORD"] = SECRET
    apps[0]["stagingAppSettings"]["STAGING_TOKEN"] = SECRET + "-staging"
    apps[0]["stickySettings"].append("STAGING_TOKEN")
    run = _run_with_secret("dev", "platform:apps", apps)

    carriers = [r for r in run.resources if SECRET in json.dumps(unwrap_secrets(r.inputs), default=str)]
    assert carriers, "the secure setting never reached a resource"
    assert {r.type for r in carriers} == {
        "azure-native:web:WebAppApplicationSettings",
        "azure-native:web:WebAppApplicationSettingsSlot",
    }
    for resource in run.resources:
        # With every secret wrapper replaced, the value is nowhere: it only travels wrapped.
        assert SECRET not in json.dumps(redact_secrets(resource.inputs), default=str), resource.name
        assert SECRET not in json.dumps(redact_secrets(resource.outputs), default=str), resource.name
    assert SECRET not in json.dumps(redact_secrets(run.stack_outputs), default=str)


@pytest.mark.parametrize(
    ("key", "change", "named"),
    [
        ("platform:tags", lambda v: {**v, "owner": SECRET}, "platform:tags"),
        ("platform:aws", lambda v: {**v, "region": SECRET}, "platform:aws"),
        ("platform:azure", lambda v: {**v, "location": SECRET}, "platform:azure"),
        ("platform:vault", lambda v: {**v, "name": SECRET}, "platform:vault"),
        ("platform:tier", lambda v: v, "platform:tier"),
    ],
)
def test_a_secure_value_where_resources_would_show_it_is_refused_without_printing_it(
    key: str, change: Any, named: str
) -> None:
    files = read_stack_files("dev", REPO_ROOT)
    raw = files.config[key]
    value = change(json.loads(raw)) if raw.startswith("{") else raw
    with pytest.raises(ValidationError) as raised:
        _run_with_secret("dev", key, value)
    message = str(raised.value)
    assert named in message and "secret" in message
    assert SECRET not in message


def test_a_secure_bootstrap_section_is_refused_without_printing_it() -> None:
    files = read_stack_files("shared", REPO_ROOT)
    bootstrap = json.loads(files.config["platform:bootstrap"])
    bootstrap["stateBackend"]["bucketName"] = SECRET
    with pytest.raises(ValidationError, match="platform:bootstrap") as raised:
        _run_with_secret("shared", "platform:bootstrap", bootstrap)
    assert SECRET not in str(raised.value)


@pytest.mark.parametrize(
    ("field", "bad"),
    [("sku", SECRET), ("capacity", SECRET), ("healthCheckPath", SECRET), ("name", SECRET.upper())],
)
def test_errors_about_a_secret_apps_key_never_print_a_value(field: str, bad: str) -> None:
    apps = _dev_apps()
    apps[0][field] = bad
    source = _SecretKeySource({**_plain_dev_values(), "apps": apps}, {"apps"})
    with pytest.raises(ValidationError) as raised:
        load_stack_config("dev", source)
    assert "platform:apps" in str(raised.value)
    assert SECRET not in str(raised.value) and SECRET.upper() not in str(raised.value)


def test_the_same_errors_on_a_plain_apps_key_still_show_the_value() -> None:
    """Hiding is tied to secretness: a plain key's error keeps naming what was wrong."""
    apps = _dev_apps()
    apps[0]["sku"] = "NotASku"
    values = {"apps": apps}
    with pytest.raises(ValidationError, match="NotASku"):
        load_stack_config("dev", _SecretKeySource({**_plain_dev_values(), **values}, set()))


def _plain_dev_values() -> dict[str, Any]:
    return {
        k.split(":", 1)[1]: json.loads(v) if v[:1] in "[{" else v
        for k, v in read_stack_files("dev", REPO_ROOT).config.items()
        if k.startswith("platform:")
    }


class _SecretKeySource(DictConfigSource):
    """Like the runtime: values decrypted, and the top-level keys holding a secure value marked secret."""

    def __init__(self, values: dict[str, Any], secret_keys: set[str]) -> None:
        super().__init__(values)
        self._secret_keys = secret_keys

    def is_secret(self, key: str) -> bool:
        return key in self._secret_keys
