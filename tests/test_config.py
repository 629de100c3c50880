"""stacks/config/__init__.py: the whole stack config, and the deployment id of the pipeline run."""

from __future__ import annotations

import pytest
from platform_infra.config import (
    DEPLOYMENT_ID_VARIABLE,
    DRIFT_CHECK_VARIABLE,
    DictConfigSource,
    load_stack_config,
)
from platform_infra.config.base import ConfigErrors
from platform_infra.validation import ValidationError

from tests.test_config_environment import VALID


def test_deployment_id_comes_from_the_pipeline_environment() -> None:
    config = load_stack_config("dev", DictConfigSource(VALID), environ={DEPLOYMENT_ID_VARIABLE: "123456789"})
    assert config.deployment_id == "123456789"


def test_no_deployment_id_outside_a_pipeline() -> None:
    assert load_stack_config("dev", DictConfigSource(VALID), environ={}).deployment_id is None
    assert (
        load_stack_config("dev", DictConfigSource(VALID), environ={DEPLOYMENT_ID_VARIABLE: ""}).deployment_id
        is None
    )


def test_a_malformed_deployment_id_is_refused_naming_the_variable_and_stack() -> None:
    with pytest.raises(ValidationError) as caught:
        load_stack_config("prod", DictConfigSource(VALID), environ={DEPLOYMENT_ID_VARIABLE: "run 42; rm -rf"})
    assert str(caught.value).startswith("stack 'prod': $PLATFORM_DEPLOYMENT_ID: is not a deployment id")


def test_only_a_drift_check_holds_rotation() -> None:
    held = load_stack_config("dev", DictConfigSource(VALID), environ={DRIFT_CHECK_VARIABLE: "true"})
    assert held.drift_check
    assert not load_stack_config("dev", DictConfigSource(VALID), environ={}).drift_check
    with pytest.raises(ValidationError) as caught:
        load_stack_config("prod", DictConfigSource(VALID), environ={DRIFT_CHECK_VARIABLE: "yes"})
    assert str(caught.value).startswith("stack 'prod': $PLATFORM_DRIFT_CHECK: is not a boolean")


def _signing_key_keepers(stack_run) -> dict:
    run = stack_run("dev")
    (password,) = [
        r for r in run.of_type("random:index/randomPassword:RandomPassword") if "api-signing-key" in r.name
    ]
    return password.inputs["keepers"]


def test_every_deploy_secrets_rotate_once_per_pipeline_run(
    stack_run, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The shipped dev stack rotates its API signing key on every deploy.
    monkeypatch.setenv(DEPLOYMENT_ID_VARIABLE, "run-1")
    preview = _signing_key_keepers(stack_run)
    up = _signing_key_keepers(stack_run)
    monkeypatch.setenv(DEPLOYMENT_ID_VARIABLE, "run-2")
    next_run = _signing_key_keepers(stack_run)
    assert preview == up
    assert preview["deployment"] == "run-1"
    assert next_run != preview


def test_a_misspelled_top_level_key_is_refused_not_silently_skipped() -> None:
    config = {**VALID, "montoring": {"retentionDays": 30}}
    with pytest.raises(ValidationError) as caught:
        load_stack_config("dev", DictConfigSource(config), environ={})
    message = str(caught.value)
    assert message.startswith("stack 'dev': platform:montoring: is not a known key")
    assert "monitoring" in message  # the list of keys it could have meant


def test_unknown_keys_are_found_in_the_real_runtime_config_too(stack_run) -> None:
    with pytest.raises(ValidationError, match=r"platform:valut: is not a known key"):
        stack_run("prod", overrides={"platform:valut": {"name": "kv-typo"}})


def test_the_shared_stack_refuses_environment_only_keys(stack_run) -> None:
    # The bootstrap stack reads no apps: an apps section there would never be deployed.
    with pytest.raises(ValidationError, match=r"stack 'shared': platform:apps: is not a known key"):
        stack_run("shared", overrides={"platform:apps": [{"name": "web"}]})


def test_every_problem_of_a_stack_file_is_reported_one_line_each() -> None:
    """Five independent mistakes in four sections: five lines, in today's format, nothing else."""
    import copy

    config = copy.deepcopy(VALID)
    config["aws"]["region"] = "Europe"
    config["tags"]["cost-centre"] = ""
    config["vault"] = {
        "name": "kv-platform-dev-001",
        "sku": "gold",
        "secrets": [{"name": "db", "rotation": "weekly"}],
    }
    config["monitoring"] = {"retentionDays": 7}
    with pytest.raises(ValidationError) as caught:
        load_stack_config("dev", DictConfigSource(config), environ={})
    lines = str(caught.value).splitlines()
    assert lines == [
        "stack 'dev': platform:aws.region: has an invalid format (got 'Europe'); "
        "allowed: an AWS region like eu-west-1",
        "stack 'dev': platform:tags.cost-centre: must be a non-empty string (got ''); "
        "allowed: a non-empty tag value",
        "stack 'dev': platform:vault.sku: is not one of the allowed values (got 'gold'); "
        "allowed: standard, premium",
        "stack 'dev': platform:vault.secrets[0].rotation: is not a rotation policy (got 'weekly'); "
        "allowed: never, every_deploy, every_<N>_days (e.g. every_30_days, N from 1 to 3650), "
        "or {policy: every_n_days, days: N}",
        "stack 'dev': platform:monitoring.retentionDays: is not a workspace retention Log Analytics accepts "
        "(got 7); allowed: 30 to 730 days",
    ]
    assert caught.value.key == "platform:aws.region"  # the first problem, as before
    assert isinstance(caught.value, ConfigErrors)
    assert [error.key for error in caught.value.errors] == [line.split(": ")[1] for line in lines]


def test_a_secret_section_is_refused_and_never_shows_its_values() -> None:
    """A section holding a nested ``secure:`` value is secret as a whole (Pulumi marks the top-level key):
    outside platform:apps it is refused, and its other problems are still listed, without values."""
    config = {**VALID, "aws": {**VALID["aws"], "region": "super-secret-region"}}
    source = DictConfigSource(config)
    source.is_secret = lambda key: key == "aws"  # type: ignore[method-assign]
    with pytest.raises(ValidationError) as caught:
        load_stack_config("dev", source, environ={})
    first, second = str(caught.value).splitlines()
    assert first.startswith("stack 'dev': platform:aws: is stored as a secret (secure:)")
    assert second.startswith("stack 'dev': platform:aws.region: has an invalid format")
    assert "super-secret-region" not in str(caught.value)
    assert second.count("(value not shown: it is a secret)") == 1
