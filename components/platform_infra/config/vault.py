"""``platform:vault``: the environment's Key Vault and the passwords generated into it.

Returns None when the key is unset (the stack has no vault). Every error names the exact key, e.g.
``platform:vault.secrets[1].length``. See docs/key-vault.md for the keys and their defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from platform_infra.config.reader import ConfigReader, ConfigSection
from platform_infra.environment import Environment
from platform_infra.key_vault import (
    DEFAULT_PASSWORD_LENGTH,
    MAX_PASSWORD_LENGTH,
    MAX_ROTATION_DAYS,
    MIN_PASSWORD_LENGTH,
    SECRET_NAME_ALLOWED,
    SECRET_NAME_PATTERN,
    SUBNET_ID_ALLOWED,
    SUBNET_ID_PATTERN,
    VAULT_NAME_ALLOWED,
    VAULT_NAME_PATTERN,
    GeneratedSecretSpec,
    RotationPolicy,
    validate_ip_range,
)
from platform_infra.validation import (
    AZURE_RESOURCE_GROUP_ALLOWED,
    AZURE_RESOURCE_GROUP_PATTERN,
    GUID_ALLOWED,
    GUID_PATTERN,
    ValidationError,
)

VAULT_KEYS = {
    "name",
    "resourceGroupName",
    "sku",
    "purgeProtection",
    "publicNetworkAccess",
    "defaultAction",
    "allowedIpRanges",
    "allowedSubnetIds",
    "deployerPrincipalId",
    "secrets",
}
SECRET_KEYS = {
    "name",
    "length",
    "rotation",
    "lower",
    "upper",
    "numeric",
    "special",
    "minLower",
    "minUpper",
    "minNumeric",
    "minSpecial",
    "specials",
    "contentType",
    "expiresInDays",
    "expiresOn",
}
#: Component field name -> config key, so the component's own checks report config keys.
SECRET_FIELD_KEYS = {
    "min_lower": "minLower",
    "min_upper": "minUpper",
    "min_numeric": "minNumeric",
    "min_special": "minSpecial",
    "override_special": "specials",
    "content_type": "contentType",
    "expires_in_days": "expiresInDays",
    "expires_on": "expiresOn",
}
ROTATION_ALLOWED = (
    "never, every_deploy, every_<N>_days (e.g. every_30_days), or {policy: every_n_days, days: N}"
)


@dataclass(frozen=True)
class VaultConfig:
    """The validated ``platform:vault`` section.

    :param name: the vault's globally unique name.
    :param resource_group_name: an existing resource group for the vault, or None to create one.
    :param sku: ``standard`` or ``premium``.
    :param purge_protection: purge protection (always true in prod).
    :param public_network_access: ``Enabled`` or ``Disabled``.
    :param default_action: firewall default, ``Deny`` or ``Allow`` (never Allow in prod).
    :param allowed_ip_ranges: IPv4 addresses/CIDR ranges allowed through the firewall.
    :param allowed_subnet_ids: subnet ids allowed through the firewall.
    :param deployer_principal_id: object id of the pipeline identity (gets Key Vault Secrets Officer).
    :param secrets: the generated passwords.
    """

    name: str
    resource_group_name: str | None
    sku: str
    purge_protection: bool
    public_network_access: str
    default_action: str
    allowed_ip_ranges: tuple[str, ...]
    allowed_subnet_ids: tuple[str, ...]
    deployer_principal_id: str | None
    secrets: tuple[GeneratedSecretSpec, ...]


def read_vault(reader: ConfigReader, environment: Environment) -> VaultConfig | None:
    """Validate ``platform:vault`` into a :class:`VaultConfig` (None when the stack declares no vault)."""
    if reader.value("vault") is None:
        return None
    section = reader.section("vault")
    section.reject_unknown(VAULT_KEYS)

    purge_protection = section.boolean("purgeProtection", default=True)
    if environment.is_prod and not purge_protection:
        raise section.error(
            "purgeProtection",
            "cannot be turned off in prod: a deleted vault or secret could be purged for good",
            value=False,
            allowed="true",
        )
    default_action = section.choice("defaultAction", ["Deny", "Allow"], default="Deny")
    if environment.is_prod and default_action == "Allow":
        raise section.error(
            "defaultAction",
            "cannot be Allow in prod: list allowedIpRanges and allowedSubnetIds instead",
            value=default_action,
            allowed="Deny",
        )
    ip_ranges = section.strings("allowedIpRanges")
    for index, ip_range in enumerate(ip_ranges):
        validate_ip_range(
            f"{section.key('allowedIpRanges')}[{index}]",
            ip_range,
            allow_any=not environment.is_prod,
            stack=reader.stack,
        )
    resource_group = section.optional_string(
        "resourceGroupName", pattern=AZURE_RESOURCE_GROUP_PATTERN, allowed=AZURE_RESOURCE_GROUP_ALLOWED
    )
    deployer = section.optional_string("deployerPrincipalId", pattern=GUID_PATTERN, allowed=GUID_ALLOWED)

    secrets: list[GeneratedSecretSpec] = []
    seen: set[str] = set()
    for item in section.sections("secrets"):
        spec = _read_secret(item)
        if spec.name.lower() in seen:
            raise item.error(
                "name", "is declared twice (Key Vault names are case-insensitive)", value=spec.name
            )
        seen.add(spec.name.lower())
        secrets.append(spec)

    return VaultConfig(
        name=section.string("name", pattern=VAULT_NAME_PATTERN, allowed=VAULT_NAME_ALLOWED),
        resource_group_name=resource_group,
        sku=section.choice("sku", ["standard", "premium"], default="standard"),
        purge_protection=purge_protection,
        public_network_access=section.choice(
            "publicNetworkAccess", ["Enabled", "Disabled"], default="Enabled"
        ),
        default_action=default_action,
        allowed_ip_ranges=tuple(ip_ranges),
        allowed_subnet_ids=tuple(
            section.strings("allowedSubnetIds", pattern=SUBNET_ID_PATTERN, allowed=SUBNET_ID_ALLOWED)
        ),
        deployer_principal_id=deployer.lower() if deployer else None,
        secrets=tuple(secrets),
    )


def _read_secret(item: ConfigSection) -> GeneratedSecretSpec:
    item.reject_unknown(SECRET_KEYS)
    length = item.integer(
        "length", default=DEFAULT_PASSWORD_LENGTH, minimum=MIN_PASSWORD_LENGTH, maximum=MAX_PASSWORD_LENGTH
    )
    spec = GeneratedSecretSpec(
        name=item.string("name", pattern=SECRET_NAME_PATTERN, allowed=SECRET_NAME_ALLOWED),
        length=length,
        lower=item.boolean("lower", default=True),
        upper=item.boolean("upper", default=True),
        numeric=item.boolean("numeric", default=True),
        special=item.boolean("special", default=True),
        min_lower=item.integer("minLower", default=1, minimum=0, maximum=length),
        min_upper=item.integer("minUpper", default=1, minimum=0, maximum=length),
        min_numeric=item.integer("minNumeric", default=1, minimum=0, maximum=length),
        min_special=item.integer("minSpecial", default=1, minimum=0, maximum=length),
        override_special=item.string("specials", default=GeneratedSecretSpec.override_special),
        content_type=item.string("contentType", default=GeneratedSecretSpec.content_type),
        rotation=_read_rotation(item),
        expires_in_days=_optional_int(item, "expiresInDays"),
        expires_on=_read_date(item, "expiresOn"),
    )
    spec.validate(item.path, SECRET_FIELD_KEYS, stack=item.stack)
    return spec


def _read_rotation(item: ConfigSection) -> RotationPolicy:
    raw: Any = item.values.get("rotation", "never")
    key = item.key("rotation")
    if isinstance(raw, Mapping):
        rotation = item.section("rotation")
        rotation.reject_unknown({"policy", "days"})
        policy = rotation.choice("policy", ["never", "every_deploy", "every_n_days"])
        if policy == "every_n_days":
            return RotationPolicy.every_n_days(rotation.integer("days", minimum=1, maximum=MAX_ROTATION_DAYS))
        if rotation.values.get("days") is not None:
            raise rotation.error(
                "days", f"applies only to every_n_days, not {policy}", value=rotation.values["days"]
            )
        return RotationPolicy.parse(policy, key)
    if not isinstance(raw, str):
        raise ValidationError(
            key, "is not a rotation policy", value=raw, allowed=ROTATION_ALLOWED, stack=item.stack
        )
    try:
        return RotationPolicy.parse(raw, key)
    except ValidationError as error:
        raise ValidationError(
            key, error.problem, value=raw, allowed=ROTATION_ALLOWED, stack=item.stack
        ) from None


def _optional_int(item: ConfigSection, name: str) -> int | None:
    if item.values.get(name) is None:
        return None
    return item.integer(name, minimum=1)


def _read_date(item: ConfigSection, name: str) -> date | None:
    raw = item.values.get(name)
    if raw is None:
        return None
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    raise item.error(name, "is not a date", value=raw, allowed='a quoted date like "2030-01-31"')


__all__ = ["VaultConfig", "read_vault"]
