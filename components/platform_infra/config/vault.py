"""``platform:vault``: the environment's Key Vault and the passwords generated into it (docs/key-vault.md).

The password rules are :meth:`GeneratedSecretSpec.validate`'s, the rotation grammar is
:meth:`RotationPolicy.parse`'s and the prod purge-protection rule is
:func:`platform_infra.validation.rules.purge_protection_problem`: the component applies the same ones.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import ValidationInfo, field_validator, model_validator

from platform_infra.config.base import (
    Bool,
    Choice,
    ConfigModel,
    Int,
    Problem,
    Problems,
    Rule,
    Text,
    TextList,
    field,
    rule,
)
from platform_infra.config.environment import GuidLower
from platform_infra.environment import Tier
from platform_infra.key_vault import (
    DEFAULT_PASSWORD_LENGTH,
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    ROTATION_ALLOWED,
    ROTATION_SCHEMA,
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
    ValidationError,
)
from platform_infra.validation.rules import purge_protection_problem

_DEFAULTS = GeneratedSecretSpec(name="x")


def _rotation(value: object) -> RotationPolicy:
    try:
        return RotationPolicy.parse(value, key="")
    except ValidationError as error:
        raise Problem.of(error, at=[part for part in error.key.split(".") if part]) from None


Rotation = Annotated[RotationPolicy, Rule(_rotation, ROTATION_SCHEMA, ROTATION_ALLOWED)]


def _date(value: object) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise Problem("is not a date", value=value, allowed='a quoted date like "2030-01-31"')


Date = Annotated[date, Rule(_date, {"type": "string", "format": "date"}, 'a quoted date like "2030-01-31"')]

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


class SecretConfig(ConfigModel):
    """One entry of ``platform:vault.secrets``: a generated password stored in the vault."""

    name: Annotated[str, Text(SECRET_NAME_PATTERN, SECRET_NAME_ALLOWED)] = field(
        "Key Vault secret name, unique in the vault (case-insensitive)."
    )
    length: Annotated[int, Int(MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH)] = field(
        "Password length.", DEFAULT_PASSWORD_LENGTH
    )
    lower: Bool = field("Use lower-case letters (at least one class must be on).", True)
    upper: Bool = field("Use upper-case letters.", True)
    numeric: Bool = field("Use digits.", True)
    special: Bool = field("Use special characters (from specials).", True)
    min_lower: Annotated[int, Int(0, MAX_PASSWORD_LENGTH)] = field(
        "At least this many lower-case letters (0 when lower is off; the minimums add up to at most length).",
        1,
    )
    min_upper: Annotated[int, Int(0, MAX_PASSWORD_LENGTH)] = field(
        "At least this many upper-case letters (0 when upper is off).", 1
    )
    min_numeric: Annotated[int, Int(0, MAX_PASSWORD_LENGTH)] = field(
        "At least this many digits (0 when numeric is off).", 1
    )
    min_special: Annotated[int, Int(0, MAX_PASSWORD_LENGTH)] = field(
        "At least this many special characters (0 when special is off).", 1
    )
    override_special: Annotated[str, Text()] = field(
        "The special characters allowed: printable ASCII punctuation; leave out what the consumer "
        "cannot take (quotes or ; in connection strings).",
        _DEFAULTS.override_special,
        alias="specials",
    )
    content_type: Annotated[str, Text()] = field("Content type shown in the portal.", _DEFAULTS.content_type)
    rotation: Rotation = field(
        "When the value changes: never, every_deploy, every_<N>_days, or {policy: every_n_days, days: N}.",
        "never",
        validate_default=True,
    )
    expires_in_days: Annotated[int, Int(1)] | None = field(
        "Days to expiry from the start of the value's validity: more than N for every_<N>_days (default 2N), "
        "90 by default for every_deploy; not allowed with never (use expiresOn).",
        None,
    )
    expires_on: Date | None = field(
        'Fixed expiry date of a never-rotating secret, quoted: "2030-01-31".', None
    )

    @model_validator(mode="after")
    def _usable(self) -> SecretConfig:
        try:
            self.spec.validate("x", SECRET_FIELD_KEYS)
        except ValidationError as error:
            raise Problem.of(error, at=error.key.split(".")[1:]) from None
        return self

    @property
    def spec(self) -> GeneratedSecretSpec:
        """The component's argument, built 1:1 from this entry."""
        return GeneratedSecretSpec(**{name: getattr(self, name) for name in type(self).model_fields})


class VaultConfig(ConfigModel):
    """``platform:vault``: the environment's Key Vault (RBAC, soft delete, firewall) and its passwords."""

    name: Annotated[str, Text(VAULT_NAME_PATTERN, VAULT_NAME_ALLOWED)] = field(
        "The vault's globally unique name."
    )
    resource_group_name: (
        Annotated[str, Text(AZURE_RESOURCE_GROUP_PATTERN, AZURE_RESOURCE_GROUP_ALLOWED)] | None
    ) = field("An existing resource group for the vault; unset creates rg-<environment>-vault.", None)
    sku: Annotated[str, Choice("standard", "premium")] = field("Vault SKU.", "standard")
    purge_protection: Bool = field("Purge protection; cannot be turned off in prod.", True)
    public_network_access: Annotated[str, Choice("Enabled", "Disabled")] = field(
        "Enabled (the firewall applies) or Disabled (private endpoints and trusted services only).", "Enabled"
    )
    default_action: Annotated[str, Choice("Deny", "Allow")] = field(
        "Firewall default; Allow is refused in prod.", "Deny"
    )
    allowed_ip_ranges: Annotated[tuple[str, ...], TextList()] = field(
        "Public IPv4 addresses or CIDR ranges (no host bits set) allowed through the firewall; 0.0.0.0/0 is "
        "refused in prod.",
        (),
    )
    allowed_subnet_ids: Annotated[tuple[str, ...], TextList(SUBNET_ID_PATTERN, SUBNET_ID_ALLOWED)] = field(
        "Subnet resource ids allowed through the firewall.", ()
    )
    deployer_principal_id: GuidLower | None = field(
        "Object id of the pipeline identity that deploys the stack (gets Key Vault Secrets Officer).", None
    )
    secrets: tuple[SecretConfig, ...] = field("The generated passwords.", ())

    @field_validator("purge_protection")
    @classmethod
    def _purge_protection(cls, value: bool, info: ValidationInfo) -> bool:
        problem = purge_protection_problem((info.context or {}).get("tier") is Tier.PROD, value)
        if problem:
            raise Problem(problem, value=value, allowed="true")
        return value

    @field_validator("default_action")
    @classmethod
    def _firewall(cls, value: str, info: ValidationInfo) -> str:
        if (info.context or {}).get("tier") is Tier.PROD and value == "Allow":
            raise Problem(
                "cannot be Allow in prod: list allowedIpRanges and allowedSubnetIds instead",
                value=value,
                allowed="Deny",
            )
        return value

    @field_validator("allowed_ip_ranges")
    @classmethod
    def _public_ranges(cls, ranges: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        allow_any = (info.context or {}).get("tier") is not Tier.PROD
        problems = []
        for index, ip_range in enumerate(ranges):
            try:
                rule(validate_ip_range, ip_range, allow_any=allow_any, at=(index,))
            except Problem as problem:
                problems.append(problem)
        if problems:
            raise Problems(problems)
        return ranges

    @field_validator("secrets")
    @classmethod
    def _unique(cls, secrets: tuple[SecretConfig, ...]) -> tuple[SecretConfig, ...]:
        seen: set[str] = set()
        problems = []
        for index, secret in enumerate(secrets):
            if secret.name.lower() in seen:
                problems.append(
                    Problem(
                        "is declared twice (Key Vault names are case-insensitive)",
                        value=secret.name,
                        at=(index, "name"),
                    )
                )
            seen.add(secret.name.lower())
        if problems:
            raise Problems(problems)
        return secrets

    @property
    def specs(self) -> tuple[GeneratedSecretSpec, ...]:
        """The component's ``secrets`` argument."""
        return tuple(secret.spec for secret in self.secrets)


__all__ = ["SecretConfig", "VaultConfig", "rule"]
