"""``platform:apps``: the blue/green web apps a stack runs (see docs/app-service.md).

Each entry becomes an :class:`AppConfig`. Everything the component would refuse is refused here first,
under the config key (``platform:apps[0].sku``), so a bad stack file fails before anything is registered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from platform_infra.app_service import (
    APP_INSIGHTS_SETTING,
    APP_SETTING_NAME_ALLOWED,
    APP_SETTING_NAME_PATTERN,
    DEFAULT_HEALTH_CHECK_PATH,
    HEALTH_CHECK_PATH_ALLOWED,
    HEALTH_CHECK_PATH_PATTERN,
    IMAGE_ALLOWED,
    IMAGE_PATTERN,
    RUNTIME_ALLOWED,
    RUNTIME_PATTERN,
    SITE_NAME_ALLOWED,
    SITE_NAME_PATTERN,
    sku_tier,
)
from platform_infra.config.reader import ConfigReader, ConfigSection, hide_value
from platform_infra.environment import Tier
from platform_infra.validation import ValidationError

APP_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,22}[a-z0-9]$")
APP_NAME_ALLOWED = "2-24 lower-case letters, digits or '-', starting with a letter"
SECRET_NAME_PATTERN = re.compile(r"^[0-9A-Za-z-]{1,127}$")
SECRET_NAME_ALLOWED = "a Key Vault secret name: 1-127 letters, digits or '-'"

APP_KEYS = frozenset(
    {
        "name",
        "siteName",
        "sku",
        "capacity",
        "healthCheckPath",
        "image",
        "runtime",
        "appSettings",
        "stagingAppSettings",
        "stickySettings",
        "keyVaultSettings",
        "applicationInsights",
        "stagingAlwaysOn",
    }
)
"""Every key an entry of ``platform:apps`` may hold."""


@dataclass(frozen=True)
class AppConfig:
    """One validated entry of ``platform:apps``.

    :param key: the entry's config key, e.g. ``platform:apps[0]`` (for later errors).
    :param name: short app name, unique in the stack; the component's logical name.
    :param sku: plan SKU (Standard, Premium or Isolated).
    :param capacity: plan instances.
    :param health_check_path: path both slots answer their health check on.
    :param image: initial container image, or None for a runtime-stack app.
    :param runtime: Linux runtime stack, or None for a container app.
    :param app_settings: plain settings for both slots.
    :param staging_app_settings: staging-only values (each must be sticky).
    :param sticky_settings: setting names that stay with their slot.
    :param key_vault_settings: app setting name -> Key Vault secret name (resolved by the stack).
    :param application_insights: one Application Insights component per slot.
    :param staging_always_on: keep staging warm (required in prod).
    :param site_name: explicit globally unique site name, or None to let the provider generate one.
    :param secret_settings: ``platform:apps`` holds a secure value: every app setting value is passed to
        the app as a secret Output (the program cannot tell which leaf was the secure one).
    """

    key: str
    name: str
    sku: str
    capacity: int
    health_check_path: str = DEFAULT_HEALTH_CHECK_PATH
    image: str | None = None
    runtime: str | None = None
    app_settings: dict[str, str] = field(default_factory=dict)
    staging_app_settings: dict[str, str] = field(default_factory=dict)
    sticky_settings: tuple[str, ...] = ()
    key_vault_settings: dict[str, str] = field(default_factory=dict)
    application_insights: bool = False
    staging_always_on: bool = True
    site_name: str | None = None
    secret_settings: bool = False


def read_apps(reader: ConfigReader, tier: Tier) -> tuple[AppConfig, ...]:
    """Validate ``platform:apps`` (a list; unset means no apps) for an environment of ``tier``."""
    raw = reader.value("apps")
    if raw is None:
        return ()
    # A secure leaf (an app setting set with --secret --path) makes the whole key secret: its settings
    # reach the app as secret Outputs and no error below may print a value.
    secret = reader.is_secret("apps")
    if not isinstance(raw, list):
        raise reader.error("apps", "must be a list of apps", value=raw, secret=secret)
    top = ConfigSection("", {"apps": raw}, reader.stack, secret=secret)
    apps: list[AppConfig] = []
    seen: dict[str, str] = {}
    try:
        for section in top.sections("apps"):
            app = _read_app(section, tier)
            if app.name in seen:
                raise section.error("name", f"is used twice (also {seen[app.name]}.name)", value=app.name)
            seen[app.name] = section.path
            apps.append(replace(app, secret_settings=secret))
    except ValidationError as error:
        if secret:
            raise hide_value(error) from None
        raise
    return tuple(apps)


def _read_app(section: ConfigSection, tier: Tier) -> AppConfig:
    section.reject_unknown(APP_KEYS)
    name = section.string("name", pattern=APP_NAME_PATTERN, allowed=APP_NAME_ALLOWED)
    sku = section.string("sku", allowed="an App Service SKU like P1v3")
    capacity = section.integer("capacity", minimum=1)
    sku_tier(section.key("sku"), sku, capacity, tier, stack=section.stack)

    image = section.optional_string("image", pattern=IMAGE_PATTERN, allowed=IMAGE_ALLOWED)
    runtime = section.optional_string("runtime", pattern=RUNTIME_PATTERN, allowed=RUNTIME_ALLOWED)
    if (image is None) == (runtime is None):
        raise section.error(
            "image", "exactly one of image and runtime must be set", allowed="image or runtime"
        )

    app_settings = _settings(section, "appSettings")
    staging_app_settings = _settings(section, "stagingAppSettings")
    sticky = section.strings(
        "stickySettings", pattern=APP_SETTING_NAME_PATTERN, allowed=APP_SETTING_NAME_ALLOWED
    )
    application_insights = section.boolean("applicationInsights", default=False)

    vault = section.section("keyVaultSettings")
    key_vault_settings: dict[str, str] = {}
    for setting in vault.values:
        if not isinstance(setting, str) or not APP_SETTING_NAME_PATTERN.match(setting):
            raise vault.error(
                str(setting), "is not a valid app setting name", allowed=APP_SETTING_NAME_ALLOWED
            )
        if setting in app_settings:
            raise vault.error(setting, "is also set in appSettings", allowed="one source per setting")
        key_vault_settings[setting] = vault.string(
            setting, pattern=SECRET_NAME_PATTERN, allowed=SECRET_NAME_ALLOWED
        )

    all_settings = {**app_settings, **key_vault_settings}
    for setting in staging_app_settings:
        if setting not in sticky:
            raise section.section("stagingAppSettings").error(
                setting,
                "differs per slot, so it must be slot-sticky (a swap would move it to production)",
                allowed=f"add it to {section.key('stickySettings')}",
            )
    for index, setting in enumerate(sticky):
        if (
            setting not in all_settings
            and setting not in staging_app_settings
            and setting != APP_INSIGHTS_SETTING
        ):
            raise section.error(
                f"stickySettings[{index}]",
                "names a setting this app does not set",
                value=setting,
                allowed="a key of appSettings, stagingAppSettings or keyVaultSettings",
            )
    if application_insights and APP_INSIGHTS_SETTING in all_settings:
        raise section.error(
            "applicationInsights",
            f"sets {APP_INSIGHTS_SETTING} itself; remove it from the settings",
            allowed="one source per setting",
        )

    staging_always_on = section.boolean("stagingAlwaysOn", default=True)
    if tier is Tier.PROD and not staging_always_on:
        raise section.error(
            "stagingAlwaysOn",
            "must be true in prod (a cold staging slot makes swaps slow)",
            value=False,
            allowed="true",
        )
    return AppConfig(
        key=section.path,
        name=name,
        sku=sku,
        capacity=capacity,
        health_check_path=section.string(
            "healthCheckPath",
            default=DEFAULT_HEALTH_CHECK_PATH,
            pattern=HEALTH_CHECK_PATH_PATTERN,
            allowed=HEALTH_CHECK_PATH_ALLOWED,
        ),
        image=image,
        runtime=runtime,
        app_settings=app_settings,
        staging_app_settings=staging_app_settings,
        sticky_settings=tuple(sticky),
        key_vault_settings=key_vault_settings,
        application_insights=application_insights,
        staging_always_on=staging_always_on,
        site_name=section.optional_string("siteName", pattern=SITE_NAME_PATTERN, allowed=SITE_NAME_ALLOWED),
    )


def _settings(section: ConfigSection, name: str) -> dict[str, str]:
    settings = section.string_map(name)
    for setting in settings:
        if not APP_SETTING_NAME_PATTERN.match(setting):
            raise section.section(name).error(
                setting, "is not a valid app setting name", allowed=APP_SETTING_NAME_ALLOWED
            )
    return settings
