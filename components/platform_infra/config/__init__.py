"""The one place where stack configuration is read and validated.

:func:`load_stack_config` reads every ``platform:*`` key of a stack and returns a :class:`StackConfig` of
typed objects. It runs before any resource is registered, so a bad value stops the deployment with a
:class:`~platform_infra.validation.ValidationError` naming the stack and the key, and nothing is deployed.
Each capability reads its own keys in a module of this package.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from platform_infra.config.apps import AppConfig, read_apps
from platform_infra.config.bootstrap import BootstrapConfig, is_bootstrap, read_bootstrap
from platform_infra.config.environment import read_environment
from platform_infra.config.observability import ObservabilityConfig, read_observability
from platform_infra.config.reader import ConfigReader, ConfigSource, DictConfigSource, PulumiConfigSource
from platform_infra.config.references import check_references
from platform_infra.config.vault import VaultConfig, read_vault
from platform_infra.environment import Environment
from platform_infra.validation import ValidationError

DEPLOYMENT_ID_VARIABLE = "PLATFORM_DEPLOYMENT_ID"
"""Environment variable naming the pipeline run; preview and up of one run must see the same value."""
DEPLOYMENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclass(frozen=True)
class StackConfig:
    """Everything a stack declares, validated.

    :param environment: where the stack deploys (accounts, subscription, tags).
    :param apps: the blue/green web apps (``platform:apps``).
    :param vault: the Key Vault and its generated secrets (``platform:vault``), or None.
    :param observability: log retention, alarms, Azure Monitor (``platform:logs``/``alarms``/``monitoring``).
    :param bootstrap: the shared-services bootstrap (``platform:bootstrap``); None for environment stacks.
    :param deployment_id: the pipeline run (``$PLATFORM_DEPLOYMENT_ID``), so that ``every_deploy`` secrets
        rotate once per run: a preview saved with ``--save-plan`` and the ``up --plan`` that applies it
        then agree. None outside a pipeline (each run is then its own deployment).
    """

    environment: Environment
    apps: tuple[AppConfig, ...] = ()
    vault: VaultConfig | None = None
    observability: ObservabilityConfig = field(default_factory=ObservabilityConfig)
    bootstrap: BootstrapConfig | None = None
    deployment_id: str | None = None


def load_stack_config(
    stack: str, source: ConfigSource | None = None, environ: Mapping[str, str] | None = None
) -> StackConfig:
    """Read and validate the ``platform`` config of ``stack`` (from the Pulumi runtime by default).

    :param environ: process environment to read ``PLATFORM_DEPLOYMENT_ID`` from (``os.environ`` by default).
    """
    reader = ConfigReader(stack, source if source is not None else PulumiConfigSource())
    deployment_id = _read_deployment_id(stack, os.environ if environ is None else environ)
    if is_bootstrap(reader):
        # The shared-services stack has no apps or vault: only its own keys are read (see bootstrap.py).
        bootstrap = read_bootstrap(reader)
        reader.reject_unknown_keys()
        return StackConfig(environment=bootstrap.environment, bootstrap=bootstrap)
    environment = read_environment(reader)
    config = StackConfig(
        environment=environment,
        apps=read_apps(reader, environment.tier),
        vault=read_vault(reader, environment),
        observability=read_observability(reader),
        deployment_id=deployment_id,
    )
    reader.reject_unknown_keys()
    check_references(config, stack)
    return config


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


__all__ = ["ConfigSource", "DictConfigSource", "PulumiConfigSource", "StackConfig", "load_stack_config"]
