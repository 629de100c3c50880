"""The one place where stack configuration is read and validated.

Each ``platform:*`` section is one pydantic model (this package's modules); :class:`EnvironmentStack` and
:class:`SharedStack` are the whole ``platform`` namespace of an environment stack and of the shared-services
bootstrap stack. :func:`load_stack_config` validates every key in one pass, before any resource is
registered, and raises one :class:`~platform_infra.validation.ValidationError` listing every problem, one
line each (stack, full key, value unless secret, what is allowed). It returns a :class:`StackConfig` of the
typed sections and the :class:`~platform_infra.environment.Environment` built from them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationInfo, field_validator

from platform_infra.config.apps import AppConfig, unique_apps
from platform_infra.config.base import (
    ConfigErrors,
    ConfigModel,
    Problem,
    Problems,
    SecretValue,
    collect,
    is_secret_type,
    key_of,
    secret_check,
    secret_refused,
)
from platform_infra.config.base import field as config_field
from platform_infra.config.bootstrap import (
    BootstrapConfig,
    BootstrapSection,
    build_bootstrap,
    check_bootstrap,
    check_shared_profiles,
)
from platform_infra.config.environment import (
    AwsConfig,
    AzureConfig,
    EnvironmentName,
    Tags,
    TierValue,
    build_environment,
)
from platform_infra.config.network import AccessConfig, NetworkConfig, RegistryConfig
from platform_infra.config.observability import (
    AlarmsConfig,
    LogsConfig,
    MonitoringConfig,
    ObservabilityConfig,
)
from platform_infra.config.reader import ConfigSource, DictConfigSource, PulumiConfigSource
from platform_infra.config.references import check_references
from platform_infra.config.vault import VaultConfig
from platform_infra.environment import Environment, Tier
from platform_infra.validation import NOT_GIVEN, ValidationError
from platform_infra.validation.limits import require_external_id

DEPLOYMENT_ID_VARIABLE = "PLATFORM_DEPLOYMENT_ID"
DRIFT_CHECK_VARIABLE = "PLATFORM_DRIFT_CHECK"
"""Set to ``true`` by the drift-detection pipelines only (see :attr:`StackConfig.drift_check`)."""
"""Environment variable naming the pipeline run; preview and up of one run must see the same value."""
#: No longer read, and refused when set: it made a preview's AWS provider assume another role than the
#: deploy job's, so a plan saved by the preview identity could never be applied (`up --plan` refuses changed
#: provider inputs) and every drift check showed the provider as changed. Jobs now pick their role through
#: the named profile of ``platform:aws.profile`` (``infra aws-profile``).
ROLE_OVERRIDE_VARIABLE = "PLATFORM_AWS_ROLE_NAME"
DEPLOYMENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
EXTERNAL_ID_PREFIX = "externalId-"
"""``platform:externalId-<target>``: the shared stack's copy of each target's external id (a secret)."""


ExternalId = Annotated[Any, secret_check(require_external_id)]
"""An STS external id, stored as a secret; checked against STS's limits without ever being printed."""

SECRET_CAPABLE_KEYS = frozenset({"apps"})
"""Top-level keys whose values the program carries to resources as secret Outputs, so a ``secure:`` value
may sit inside them (an app setting set with ``pulumi config set --secret --path``). Together with the
fields typed :data:`~platform_infra.config.base.Secret` (``awsExternalId``, ``externalId-<target>``) this is
every place a secret may be: a secure value in any other key would land in clear in resource inputs, state
and previews, and is refused. Pulumi marks the whole top-level key secret when any nested value is
(pulumi/pulumi sdk/go/common/resource/config/value.go), so secretness is known per top-level key."""


def _apps_list(value: Any) -> Any:
    if not isinstance(value, list | tuple):
        raise Problem("must be a list of apps", value=value)
    return value


class _CommonKeys(ConfigModel):
    """The keys every stack has: where it deploys and how it is tagged."""

    environment: EnvironmentName | None = config_field(
        "Environment name used in resource names; default the stack name.", None
    )
    tier: TierValue = config_field("dev, staging or prod: how hardened the environment is.")
    aws: AwsConfig = config_field("The AWS account and the role assumed there.")
    aws_external_id: ExternalId | None = config_field(
        "External id the deploy role's trust policy requires (set with pulumi config set --secret).", None
    )
    azure: AzureConfig = config_field("The Azure subscription.")
    tags: Tags = config_field("Tags on every resource; owner and cost-centre are required.")


class EnvironmentStack(_CommonKeys):
    """The ``platform`` namespace of an environment stack (``Pulumi.dev.yaml``, ...)."""

    apps: Annotated[tuple[AppConfig, ...], BeforeValidator(_apps_list)] = config_field(
        "Blue/green web apps (docs/app-service.md).", ()
    )
    vault: VaultConfig | None = config_field(
        "The Key Vault and its generated passwords (docs/key-vault.md).", None
    )
    logs: LogsConfig | None = config_field("CloudWatch log groups and the retention enforcer.", None)
    alarms: AlarmsConfig | None = config_field(
        "The alarm topic, its subscribers and the CloudWatch alarms.", None
    )
    monitoring: MonitoringConfig | None = config_field(
        "The Log Analytics workspace and the app alerts.", None
    )
    network: NetworkConfig | None = config_field(
        "The VNet: the apps' integration subnets and the vault's private endpoint (docs/network.md).", None
    )
    access: AccessConfig | None = config_field(
        "Who may reach the staging slots and SCM sites (closed to everyone else); required with apps.", None
    )
    registry: RegistryConfig | None = config_field(
        "The container registry the apps pull from with their own identities (AcrPull).", None
    )

    @field_validator("apps")
    @classmethod
    def _unique_apps(cls, apps: tuple[AppConfig, ...], info: ValidationInfo) -> tuple[AppConfig, ...]:
        return unique_apps(apps, secret="apps" in (info.context or {}).get("secret_keys", ()))


class SharedStack(_CommonKeys):
    """The ``platform`` namespace of the shared-services bootstrap stack (``Pulumi.shared.yaml``).

    Its common keys describe the shared-services account; ``platform:externalId-<target>`` (secrets) hold
    each target's external id.
    """

    bootstrap: BootstrapSection = config_field("Pipeline identity, state backend and one entry per target.")


@dataclass(frozen=True)
class StackConfig:
    """Everything a stack declares, validated.

    :param environment: where the stack deploys (accounts, subscription, tags).
    :param apps: the blue/green web apps (``platform:apps``).
    :param vault: the Key Vault and its generated secrets (``platform:vault``), or None.
    :param observability: log retention, alarms, Azure Monitor (``platform:logs``/``alarms``/``monitoring``).
    :param bootstrap: the shared-services bootstrap (``platform:bootstrap``); None for environment stacks.
    :param network: the VNet, integration subnets and private endpoints (``platform:network``), or None.
    :param access: allow lists of the staging slots and SCM sites (``platform:access``), or None.
    :param registry: the container registry the apps pull from (``platform:registry``), or None.
    :param deployment_id: the pipeline run (``$PLATFORM_DEPLOYMENT_ID``), so that ``every_deploy`` secrets
        rotate once per run: a preview saved with ``--save-plan`` and the ``up --plan`` that applies it
        then agree. None outside a pipeline (each run is then its own deployment).
    :param drift_check: ``$PLATFORM_DRIFT_CHECK=true``, set only by the drift-detection pipelines: secrets
        keep their value and expiry from state (``SecretVaultArgs.hold_rotation``), so a due rotation is not
        reported as drift.
    """

    environment: Environment
    apps: tuple[AppConfig, ...] = ()
    vault: VaultConfig | None = None
    observability: ObservabilityConfig = field(default_factory=ObservabilityConfig)
    bootstrap: BootstrapConfig | None = None
    deployment_id: str | None = None
    network: NetworkConfig | None = None
    access: AccessConfig | None = None
    registry: RegistryConfig | None = None
    drift_check: bool = False


def load_stack_config(
    stack: str, source: ConfigSource | None = None, environ: Mapping[str, str] | None = None
) -> StackConfig:
    """Read and validate the ``platform`` config of ``stack`` (from the Pulumi runtime by default).

    :param environ: process environment to read ``PLATFORM_DEPLOYMENT_ID`` and ``PLATFORM_DRIFT_CHECK`` from
        (``os.environ`` by default).
    :raises ValidationError: listing every problem of the stack's config, one line each.
    """
    source = source if source is not None else PulumiConfigSource()
    environ = os.environ if environ is None else environ
    deployment_id = _read_deployment_id(stack, environ)
    drift_check = _read_drift_check(stack, environ)
    raw, secret_keys = read_raw(source)
    errors: list[ValidationError] = [
        _error(secret_refused(), (key,), stack)
        for key in sorted(secret_keys)
        if key not in SECRET_CAPABLE_KEYS and not _expects_secret(key)
    ]
    external_ids = {key: raw.pop(key) for key in list(raw) if key.startswith(EXTERNAL_ID_PREFIX)}
    model: type[_CommonKeys] = SharedStack if raw.get("bootstrap") is not None else EnvironmentStack
    tier = Tier(raw["tier"]) if raw.get("tier") in [t.value for t in Tier] else None
    validated: _CommonKeys | None = None
    try:
        validated = model.model_validate(
            raw, context={"tier": tier, "stack": stack, "secret_keys": secret_keys}
        )
    except Exception as error:
        import pydantic

        if not isinstance(error, pydantic.ValidationError):
            raise
        errors.extend(collect(error, stack=stack, model=model, secret_keys=secret_keys))
    secrets_by_target = _external_ids(external_ids, validated, stack, errors)
    if validated is None or errors:
        raise ConfigErrors(errors)
    environment = build_environment(
        validated.environment or stack,
        validated.tier,
        validated.aws,
        validated.azure,
        validated.tags,
        validated.aws_external_id,
    )
    if isinstance(validated, SharedStack):
        problems: list[ValidationError] = []
        try:
            check_bootstrap(validated.bootstrap, environment)
        except Problems as error:
            problems += [_error(problem, ("bootstrap",), stack) for problem in error.problems]
        problems += [_error(p, (), stack) for p in check_shared_profiles(validated.bootstrap, environment)]
        if problems:
            raise ConfigErrors(problems) from None
        return StackConfig(
            environment=environment,
            bootstrap=build_bootstrap(validated.bootstrap, environment, secrets_by_target),
        )
    assert isinstance(validated, EnvironmentStack)
    _refuse_role_override(stack, environ)
    config = StackConfig(
        environment=environment,
        apps=validated.apps,
        vault=validated.vault,
        observability=ObservabilityConfig(
            logs=validated.logs, alarms=validated.alarms, monitoring=validated.monitoring
        ),
        deployment_id=deployment_id,
        drift_check=drift_check,
        network=validated.network,
        access=validated.access,
        registry=validated.registry,
    )
    check_references(config, stack)
    return config


def _error(problem: Problem, loc: tuple[str | int, ...], stack: str) -> ValidationError:
    return ValidationError(
        key_of((*loc, *problem.at)),
        problem.problem,
        value=NOT_GIVEN if problem.secret else problem.value,
        allowed=problem.allowed,
        stack=stack,
        secret=problem.secret,
    )


def read_raw(source: ConfigSource) -> tuple[dict[str, Any], set[str]]:
    """Every key the stack sets (without namespace) and which of them are secret.

    A secret key's value is handed to the models as a :class:`SecretValue` when the model expects a secret
    there (:data:`platform_infra.config.base.Secret`); any other key that is secret (a section with a nested
    ``secure:`` value) is validated as usual but no error ever shows its values.
    """
    raw: dict[str, Any] = {}
    secret_keys: set[str] = set()
    for key in source.present_keys():
        if source.is_secret(key):
            secret_keys.add(key)
            if _expects_secret(key):
                raw[key] = SecretValue(source.get_secret(key), plain=source.get(key))
                continue
        raw[key] = source.get(key)
    return raw, secret_keys


def _expects_secret(key: str) -> bool:
    """True for the keys whose model field is a secret (``secure:``) value."""
    if key.startswith(EXTERNAL_ID_PREFIX):
        return True
    info = next(
        (info for name, info in _CommonKeys.model_fields.items() if (info.alias or name) == key), None
    )
    return info is not None and is_secret_type(info.annotation)


def _external_ids(
    values: dict[str, Any], validated: _CommonKeys | None, stack: str, errors: list[ValidationError]
) -> dict[str, Any]:
    """``platform:externalId-<target>``: secrets, and only in the shared stack for one of its targets."""
    result: dict[str, Any] = {}
    targets = (
        [target.name for target in validated.bootstrap.targets]
        if isinstance(validated, SharedStack)
        else None
    )
    for key, value in sorted(values.items()):
        name = key.removeprefix(EXTERNAL_ID_PREFIX)
        if (targets is not None and name not in targets) or (validated is not None and targets is None):
            allowed = ", ".join(f"{EXTERNAL_ID_PREFIX}{target}" for target in targets or [])
            errors.append(
                ValidationError(_key((key,)), "is not a known key", allowed=allowed or None, stack=stack)
            )
        elif not isinstance(value, SecretValue):
            errors.append(
                ValidationError(
                    _key((key,)),
                    "must be set as a secret",
                    secret=True,
                    allowed=f"pulumi config set --secret {_key((key,))}",
                    stack=stack,
                )
            )
        else:
            result[name] = value.output
    return result


def _key(loc: tuple[str | int, ...]) -> str:
    return key_of(loc)


def _refuse_role_override(stack: str, environ: Mapping[str, str]) -> None:
    if environ.get(ROLE_OVERRIDE_VARIABLE):
        raise ValidationError(
            f"${ROLE_OVERRIDE_VARIABLE}",
            "is no longer read: a role chosen per job changes the AWS provider's inputs, so a saved plan "
            "would not apply",
            allowed="unset it; set platform:aws.profile and write each job's profile with infra aws-profile",
            stack=stack,
        )


def _read_drift_check(stack: str, environ: Mapping[str, str]) -> bool:
    value = environ.get(DRIFT_CHECK_VARIABLE, "")
    if value not in ("", "true", "false"):
        raise ValidationError(
            f"${DRIFT_CHECK_VARIABLE}", "is not a boolean", value=value, allowed="true, false", stack=stack
        )
    return value == "true"


def _read_deployment_id(stack: str, environ: Mapping[str, str]) -> str | None:
    value = environ.get(DEPLOYMENT_ID_VARIABLE) or None
    if value is not None and not DEPLOYMENT_ID_PATTERN.fullmatch(value):
        raise ValidationError(
            f"${DEPLOYMENT_ID_VARIABLE}",
            "is not a deployment id",
            value=value,
            allowed="1-128 letters, digits and ._:-, e.g. the CI run id",
            stack=stack,
        )
    return value


__all__ = [
    "ConfigSource",
    "DictConfigSource",
    "EnvironmentStack",
    "PulumiConfigSource",
    "SharedStack",
    "StackConfig",
    "load_stack_config",
]
