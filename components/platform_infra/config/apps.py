"""``platform:apps``: the blue/green web apps a stack runs (see docs/app-service.md).

Each entry is an :class:`AppConfig`. The rules the component applies (SKU and capacity per tier:
:func:`platform_infra.app_service.sku_tier`) are the ones applied here, under the config key
(``platform:apps[0].sku``), so a bad stack file fails before anything is registered.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import (
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from platform_infra.app_service import (
    APP_INSIGHTS_SETTING,
    APP_SETTING_NAME_ALLOWED,
    APP_SETTING_NAME_PATTERN,
    ASE_ID_ALLOWED,
    ASE_ID_PATTERN,
    DEFAULT_HEALTH_CHECK_PATH,
    HEALTH_CHECK_PATH_ALLOWED,
    HEALTH_CHECK_PATH_PATTERN,
    IMAGE_ALLOWED,
    IMAGE_PATTERN,
    RUNTIME_ALLOWED,
    RUNTIME_PATTERN,
    SITE_NAME_ALLOWED,
    SITE_NAME_PATTERN,
    SKU_ALLOWED,
    require_environment_for_isolated,
    sku_tier,
)
from platform_infra.config.base import (
    Bool,
    ConfigModel,
    Int,
    Problem,
    Problems,
    Rule,
    Text,
    TextList,
    field,
    plain_map,
    text,
)
from platform_infra.environment import Tier
from platform_infra.release.probe import (
    DEFAULT_CONTRACT,
    DEFAULT_INSTANCE_CONTRACT,
    INSTANCE_CONTRACT_ALLOWED,
    INSTANCE_CONTRACT_PATTERN,
    VERSION_CONTRACT_ALLOWED,
    VERSION_CONTRACT_PATTERN,
    contracts_conflict,
)
from platform_infra.validation import ValidationError

APP_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,22}[a-z0-9]$")
APP_NAME_ALLOWED = "2-24 lower-case letters, digits or '-', starting with a letter"
SECRET_NAME_PATTERN = re.compile(r"^[0-9A-Za-z-]{1,127}$")
SECRET_NAME_ALLOWED = "a Key Vault secret name: 1-127 letters, digits or '-'"
_SETTING_NAME_SCHEMA = {"pattern": APP_SETTING_NAME_PATTERN.pattern}


def _settings(value: object) -> dict[str, str]:
    settings = plain_map(value)
    problems = [
        Problem("is not a valid app setting name", allowed=APP_SETTING_NAME_ALLOWED, at=(name,))
        for name in settings
        if not APP_SETTING_NAME_PATTERN.match(name)
    ]
    if problems:
        raise Problems(problems)
    return settings


Settings = Annotated[
    dict[str, str],
    Rule(
        _settings,
        {
            "type": "object",
            "propertyNames": _SETTING_NAME_SCHEMA,
            "additionalProperties": {"type": ["string", "number", "boolean"]},
        },
        "setting names: " + APP_SETTING_NAME_ALLOWED,
    ),
]
"""App settings: valid setting names to plain values (numbers and booleans become strings)."""


def _vault_settings(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise Problem("must be a mapping of keys to values", value=value)
    problems: list[Problem] = []
    result: dict[str, str] = {}
    for setting, secret in value.items():
        if not isinstance(setting, str) or not APP_SETTING_NAME_PATTERN.match(setting):
            problems.append(
                Problem(
                    "is not a valid app setting name", allowed=APP_SETTING_NAME_ALLOWED, at=(str(setting),)
                )
            )
            continue
        try:
            result[setting] = text(secret, SECRET_NAME_PATTERN, SECRET_NAME_ALLOWED)
        except Problem as problem:
            problems.append(Problem(problem.problem, value=secret, allowed=problem.allowed, at=(setting,)))
    if problems:
        raise Problems(problems)
    return result


VaultSettings = Annotated[
    dict[str, str],
    Rule(
        _vault_settings,
        {
            "type": "object",
            "propertyNames": _SETTING_NAME_SCHEMA,
            "additionalProperties": {"type": "string", "pattern": SECRET_NAME_PATTERN.pattern},
        },
        "setting name -> " + SECRET_NAME_ALLOWED,
    ),
]


class AppConfig(ConfigModel):
    """One entry of ``platform:apps``: a Linux web app with a production and a staging slot."""

    name: Annotated[str, Text(APP_NAME_PATTERN, APP_NAME_ALLOWED)] = field(
        "Short app name, unique in the stack; names the app's resources."
    )
    site_name: Annotated[str, Text(SITE_NAME_PATTERN, SITE_NAME_ALLOWED)] | None = field(
        "Explicit globally unique site name; unset lets the provider generate one.", None
    )
    sku: Annotated[str, Text(allowed=SKU_ALLOWED)] = field(
        "App Service plan SKU with deployment slots (Standard, Premium or Isolated), e.g. P1v3; Free, "
        "Shared and Basic have no slots and are refused."
    )
    capacity: Annotated[int, Int(1)] = field("Plan instances; at least 2 in prod.")
    health_check_path: Annotated[str, Text(HEALTH_CHECK_PATH_PATTERN, HEALTH_CHECK_PATH_ALLOWED)] = field(
        "Path both slots answer their health check on.", DEFAULT_HEALTH_CHECK_PATH
    )
    image: Annotated[str, Text(IMAGE_PATTERN, IMAGE_ALLOWED)] | None = field(
        "Initial container image (set image or runtime, not both).", None
    )
    runtime: Annotated[str, Text(RUNTIME_PATTERN, RUNTIME_ALLOWED)] | None = field(
        "Linux runtime stack like PYTHON|3.12 (set image or runtime, not both).", None
    )
    app_settings: Settings = field("Plain settings for both slots.", {})
    staging_app_settings: Settings = field("Staging-only values (each must be listed in stickySettings).", {})
    sticky_settings: Annotated[
        tuple[str, ...], TextList(APP_SETTING_NAME_PATTERN, APP_SETTING_NAME_ALLOWED)
    ] = field("Setting names that stay with their slot on a swap.", ())
    key_vault_settings: VaultSettings = field(
        "App setting name -> a secret declared in platform:vault.secrets, passed as a Key Vault reference "
        "(@Microsoft.KeyVault(SecretUri=...)); refused without platform:vault.",
        {},
    )
    application_insights: Bool = field(
        "One Application Insights component per slot (needs platform:monitoring).", False
    )
    staging_always_on: Bool = field("Keep the staging slot warm; must be true in prod.", True)
    app_service_environment_id: Annotated[str, Text(ASE_ID_PATTERN, ASE_ID_ALLOWED)] | None = field(
        "The App Service Environment of an Isolated plan (required for Isolated SKUs, refused otherwise).",
        None,
    )
    zone_redundant: Bool | None = field(
        "Spread the plan over availability zones (Premium v2+/Isolated v2, 2+ instances, a zonal region); "
        "default: on in prod where possible.",
        None,
    )
    version_from: Annotated[str, Text(VERSION_CONTRACT_PATTERN, VERSION_CONTRACT_ALLOWED)] = field(
        "How the app reports its version to infra release (--version-from): a field of the health JSON, a "
        "header of the health response, or a path answering the version as plain text.",
        DEFAULT_CONTRACT,
    )
    instance_from: Annotated[str, Text(INSTANCE_CONTRACT_PATTERN, INSTANCE_CONTRACT_ALLOWED)] = field(
        "How the app names the instance that answered (its WEBSITE_INSTANCE_ID) to infra release "
        "(--instance-from); none trusts the ARRAffinity cookie, which App Service may ignore with client "
        "affinity off.",
        DEFAULT_INSTANCE_CONTRACT,
    )
    _key: str = PrivateAttr("")
    _secret_settings: bool = PrivateAttr(False)

    @property
    def key(self) -> str:
        """The entry's config key, e.g. ``platform:apps[0]`` (for errors found later)."""
        return self._key

    @property
    def secret_settings(self) -> bool:
        """``platform:apps`` holds a secure value: every app setting value is passed to the app as a secret
        Output (the program cannot tell which leaf was the secure one)."""
        return self._secret_settings

    @field_validator("staging_always_on")
    @classmethod
    def _warm_staging_in_prod(cls, value: bool, info: ValidationInfo) -> bool:
        if (info.context or {}).get("tier") is Tier.PROD and not value:
            raise Problem(
                "must be true in prod (a cold staging slot makes swaps slow)", value=False, allowed="true"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> AppConfig:
        problems: list[Problem] = []
        tier = (info.context or {}).get("tier")
        if isinstance(tier, Tier):
            try:
                found = sku_tier("x.sku", self.sku, self.capacity, tier)
                require_environment_for_isolated(
                    "x.appServiceEnvironmentId", found, self.app_service_environment_id, sku_key="x.sku"
                )
            except ValidationError as error:
                problems.append(Problem.of(error, at=(error.key.rsplit(".", 1)[-1],)))
        conflict = contracts_conflict(self.version_from, self.instance_from)
        if conflict:
            problems.append(
                Problem(
                    conflict, value=self.instance_from, allowed="header:<name> or none", at=("instanceFrom",)
                )
            )
        if (self.image is None) == (self.runtime is None):
            problems.append(
                Problem(
                    "exactly one of image and runtime must be set", allowed="image or runtime", at=("image",)
                )
            )
        for setting in self.key_vault_settings:
            if setting in self.app_settings:
                problems.append(
                    Problem(
                        "is also set in appSettings",
                        allowed="one source per setting",
                        at=("keyVaultSettings", setting),
                    )
                )
        all_settings = {**self.app_settings, **self.key_vault_settings}
        for setting in self.staging_app_settings:
            if setting not in self.sticky_settings:
                problems.append(
                    Problem(
                        "differs per slot, so it must be slot-sticky (a swap would move it to production)",
                        allowed="add it to stickySettings",
                        at=("stagingAppSettings", setting),
                    )
                )
        for index, setting in enumerate(self.sticky_settings):
            if (
                setting not in all_settings
                and setting not in self.staging_app_settings
                and setting != APP_INSIGHTS_SETTING
            ):
                problems.append(
                    Problem(
                        "names a setting this app does not set",
                        value=setting,
                        allowed="a key of appSettings, stagingAppSettings or keyVaultSettings",
                        at=("stickySettings", index),
                    )
                )
        if self.application_insights and APP_INSIGHTS_SETTING in all_settings:
            problems.append(
                Problem(
                    f"sets {APP_INSIGHTS_SETTING} itself; remove it from the settings",
                    allowed="one source per setting",
                    at=("applicationInsights",),
                )
            )
        if problems:
            raise Problems(problems)
        return self


def unique_apps(apps: tuple[AppConfig, ...], *, secret: bool = False) -> tuple[AppConfig, ...]:
    """App names are unique in a stack (they name the resources); each app learns its key and whether
    ``platform:apps`` is secret."""
    seen: dict[str, int] = {}
    problems = []
    for index, app in enumerate(apps):
        if app.name in seen:
            problems.append(
                Problem(
                    f"is used twice (also platform:apps[{seen[app.name]}].name)",
                    value=app.name,
                    at=(index, "name"),
                )
            )
        seen.setdefault(app.name, index)
        app.__pydantic_private__["_key"] = f"platform:apps[{index}]"  # type: ignore[index]
        app.__pydantic_private__["_secret_settings"] = secret  # type: ignore[index]
    if problems:
        raise Problems(problems)
    return apps


def _apps_list(value: Any) -> Any:
    if value is not None and not isinstance(value, list | tuple):
        raise Problem("must be a list of apps", value=value)
    return value


__all__ = ["AppConfig", "unique_apps"]
