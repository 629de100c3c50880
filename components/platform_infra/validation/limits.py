"""What the clouds refuse, as plain rule functions: config reading, components and policy all call these.

Each ``require_*`` function checks one kind of value against a documented cloud limit and raises a
:class:`~platform_infra.validation.ValidationError` naming ``key`` (a config key such as
``platform:tags.owner`` or a component argument) and the stack; it returns the value unchanged (or
normalised) when it is acceptable. They take plain Python values, so a pydantic validator can call them too.

Sources (each rule below names its own):

* AWS regions: botocore's ``data/partitions.json`` (the endpoint data every AWS SDK ships); the list here
  is pinned from botocore 1.44.5 and ``tests/test_limits.py`` compares it with the installed botocore.
  The Pulumi AWS provider does not catch a wrong region itself: ``skipRegionValidation`` defaults to true
  in pulumi-aws v7, so a typo would only fail at the first API call.
* Azure locations: the public-cloud list of ``articles/reliability/regions-list.md`` in
  MicrosoftDocs/azure-docs (ms.date 03/21/2025, the "Azure regions list" page on learn.microsoft.com),
  programmatic names as ``az account list-locations`` prints them. Sovereign clouds are not listed: the
  stacks' azure-native providers target the public cloud.
* STS limits: botocore ``data/sts/2011-06-15/service-2.json`` (``externalIdType``: 2-1224 characters of
  ``[\\w+=,.@:/-]``; ``roleDurationSecondsType``: 900-43200) and the IAM User Guide, "Role chaining":
  a session obtained by chaining roles lasts at most one hour, and AssumeRole fails when a longer
  ``DurationSeconds`` is asked for.
* Tags: AWS "Tagging your AWS resources" (Tag naming limits and requirements: 50 user tags, keys 1-128
  and values 0-256 Unicode characters of letters, digits, spaces and ``_ . : / = + - @``, ``aws:``
  reserved, case-sensitive) and Azure "Use tags to organize your Azure resources" (Limitations: 50 tags,
  names up to 512 and values up to 256 characters, no ``< > % & \\ ? /`` in names, tag names are
  case-insensitive, ``microsoft``, ``azure`` and ``windows`` prefixes reserved). The stacks put the same
  tags on both clouds, so a tag must satisfy both.
* S3 bucket names: Amazon S3 User Guide, "General purpose bucket naming rules".
* Key Vault IP rules: Key Vault "Configure network security" (IP network rules are for public IPv4
  addresses; ranges reserved for private networks per RFC 1918 are not allowed).
"""

from __future__ import annotations

import ipaddress
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from platform_infra.validation import ValidationError

# --- regions ------------------------------------------------------------------------------------------

AWS_REGIONS_SOURCE = "botocore 1.44.5 data/partitions.json"
AWS_REGIONS: frozenset[str] = frozenset(
    {
        "af-south-1",
        "ap-east-1",
        "ap-east-2",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "ca-central-1",
        "ca-west-1",
        "cn-north-1",
        "cn-northwest-1",
        "eu-central-1",
        "eu-central-2",
        "eu-isoe-west-1",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eusc-de-east-1",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "me-west-1",
        "mx-central-1",
        "sa-east-1",
        "sa-west-1",
        "us-east-1",
        "us-east-2",
        "us-gov-east-1",
        "us-gov-west-1",
        "us-iso-east-1",
        "us-iso-west-1",
        "us-isob-east-1",
        "us-isob-west-1",
        "us-isof-east-1",
        "us-isof-south-1",
        "us-west-1",
        "us-west-2",
    }
)
"""Every region of every partition in :data:`AWS_REGIONS_SOURCE` (not the ``*-global`` pseudo-regions)."""

AZURE_LOCATIONS_SOURCE = "MicrosoftDocs/azure-docs articles/reliability/regions-list.md (ms.date 03/21/2025)"
AZURE_ZONAL_LOCATIONS: frozenset[str] = frozenset(
    {
        "australiaeast",
        "brazilsouth",
        "canadacentral",
        "centralindia",
        "centralus",
        "eastasia",
        "eastus",
        "eastus2",
        "francecentral",
        "germanywestcentral",
        "indonesiacentral",
        "israelcentral",
        "italynorth",
        "japaneast",
        "japanwest",
        "koreacentral",
        "mexicocentral",
        "newzealandnorth",
        "northeurope",
        "norwayeast",
        "polandcentral",
        "qatarcentral",
        "southafricanorth",
        "southcentralus",
        "southeastasia",
        "spaincentral",
        "swedencentral",
        "switzerlandnorth",
        "uaenorth",
        "uksouth",
        "westeurope",
        "westus2",
        "westus3",
    }
)
"""Public-cloud locations with availability zones (the source's "Availability zone support" column)."""
AZURE_LOCATIONS: frozenset[str] = AZURE_ZONAL_LOCATIONS | frozenset(
    {
        "australiacentral",
        "australiacentral2",
        "australiasoutheast",
        "austriaeast",
        "brazilsoutheast",
        "canadaeast",
        "francesouth",
        "germanynorth",
        "koreasouth",
        "northcentralus",
        "norwaywest",
        "southafricawest",
        "southindia",
        "swedensouth",
        "switzerlandwest",
        "uaecentral",
        "ukwest",
        "westcentralus",
        "westindia",
        "westus",
    }
)
"""Every public-cloud location of :data:`AZURE_LOCATIONS_SOURCE` (restricted and announced ones included)."""


def require_aws_region(key: str, value: object, *, stack: str | None = None) -> str:
    """An AWS region that exists (see :data:`AWS_REGIONS`)."""
    if not isinstance(value, str) or value not in AWS_REGIONS:
        raise ValidationError(
            key,
            "is not an AWS region",
            value=value,
            allowed=f"a region of {AWS_REGIONS_SOURCE}, e.g. eu-west-1",
            stack=stack,
        )
    return value


def require_azure_location(key: str, value: object, *, stack: str | None = None) -> str:
    """An Azure public-cloud location that exists (see :data:`AZURE_LOCATIONS`)."""
    if not isinstance(value, str) or value not in AZURE_LOCATIONS:
        raise ValidationError(
            key,
            "is not an Azure location",
            value=value,
            allowed="a programmatic location name like westeurope (az account list-locations)",
            stack=stack,
        )
    return value


# --- numbers and durations ----------------------------------------------------------------------------

MAX_CHAINED_SESSION_SECONDS = 3600
"""IAM User Guide, "Role chaining": a chained role session lasts at most one hour."""
MIN_SESSION_SECONDS = 900
"""botocore sts ``roleDurationSecondsType`` minimum."""


def require_finite_number(key: str, value: object, *, stack: str | None = None) -> float | int:
    """A real number that is not NaN or infinite (YAML's ``.nan``/``.inf`` reach config as floats)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(key, "must be a number", value=value, stack=stack)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(key, "must be a finite number", value=value, stack=stack)
    return value


def require_chained_session_duration(key: str, value: object, *, stack: str | None = None) -> int:
    """Seconds of a role session reached by role chaining: 900 to 3600.

    The pipeline identity is itself an assumed role (GitHub OIDC -> pipeline role), so assuming the deploy
    role from it is role chaining, and STS refuses ``DurationSeconds`` above one hour for it.
    """
    require_finite_number(key, value, stack=stack)
    assert isinstance(value, int | float)
    if int(value) != value or not MIN_SESSION_SECONDS <= value <= MAX_CHAINED_SESSION_SECONDS:
        raise ValidationError(
            key,
            "is out of range for a chained role session (AWS caps role chaining at one hour)",
            value=value,
            allowed=f"{MIN_SESSION_SECONDS} to {MAX_CHAINED_SESSION_SECONDS}",
            stack=stack,
        )
    return int(value)


EXTERNAL_ID_PATTERN = re.compile(r"^[\w+=,.@:/-]{2,1224}$", re.ASCII)
"""botocore sts ``externalIdType``: 2-1224 characters of ``[\\w+=,.@:/-]``."""


def require_external_id(key: str, value: object, *, stack: str | None = None) -> str:
    """An STS external id. The value is never printed (it is kept as a secret)."""
    if not isinstance(value, str) or not EXTERNAL_ID_PATTERN.fullmatch(value):
        length = len(value) if isinstance(value, str) else None
        raise ValidationError(
            key,
            f"is not an STS external id ({length} characters)" if length is not None else "must be a string",
            allowed="2-1224 letters, digits and +=,.@:/-_",
            secret=True,
            stack=stack,
        )
    return value


# --- tags ---------------------------------------------------------------------------------------------

MAX_TAGS = 50
"""Both clouds: at most 50 (user) tags per resource."""
COMPONENT_TAGS = ("environment", "slot", "rotation")
"""Tags the components add themselves; a resource carries ``environment`` and at most one of the others."""
MAX_CONFIG_TAGS = MAX_TAGS - 2
"""What stack config may set so that a resource with ``environment`` and ``slot``/``rotation`` stays at 50."""
MAX_TAG_KEY_LENGTH = 128
"""AWS: 128 characters (Azure allows 512; the stricter limit applies to both)."""
MAX_TAG_VALUE_LENGTH = 256
AWS_TAG_PUNCTUATION = "_.:/=+-@"
AZURE_TAG_NAME_FORBIDDEN = "<>%&\\?/"
RESERVED_TAG_PREFIXES = ("aws:", "microsoft", "azure", "windows")
"""``aws:`` (AWS, case-insensitive) and Azure's reserved name prefixes."""
TAG_KEY_ALLOWED = (
    f"1-{MAX_TAG_KEY_LENGTH} letters, digits, spaces or _.:=+-@ (no '/', which Azure refuses), "
    "not starting with aws:, microsoft, azure or windows"
)
TAG_VALUE_ALLOWED = f"0-{MAX_TAG_VALUE_LENGTH} letters, digits, spaces or {AWS_TAG_PUNCTUATION}"


def _aws_tag_text(text: str) -> bool:
    """AWS's tag character set: Unicode letters and digits, space separators and ``_.:/=+-@``."""
    return all(ch.isalnum() or unicodedata.category(ch) == "Zs" or ch in AWS_TAG_PUNCTUATION for ch in text)


def require_tag_key(key: str, name: object, *, stack: str | None = None) -> str:
    """A tag name both AWS and Azure accept."""
    if (
        not isinstance(name, str)
        or not 1 <= len(name) <= MAX_TAG_KEY_LENGTH
        or not _aws_tag_text(name)
        or any(ch in AZURE_TAG_NAME_FORBIDDEN for ch in name)
        or name.lower().startswith(RESERVED_TAG_PREFIXES)
    ):
        raise ValidationError(
            key, "is not a valid tag name", value=name, allowed=TAG_KEY_ALLOWED, stack=stack
        )
    return name


def require_tag_value(key: str, value: object, *, stack: str | None = None) -> str:
    """A tag value both AWS and Azure accept (no newlines or emoji: AWS refuses them)."""
    if not isinstance(value, str) or len(value) > MAX_TAG_VALUE_LENGTH or not _aws_tag_text(value):
        raise ValidationError(
            key, "is not a valid tag value", value=value, allowed=TAG_VALUE_ALLOWED, stack=stack
        )
    return value


def require_tags(key: str, tags: Mapping[Any, Any], *, stack: str | None = None) -> dict[str, str]:
    """A tag set both clouds accept: valid names and values, no names equal but for case (Azure treats
    ``Owner`` and ``owner`` as one tag), and few enough that the components' own tags still fit.

    :param key: the key of the mapping (``platform:tags``); a tag's errors name ``<key>.<tag>``.
    """
    if len(tags) > MAX_CONFIG_TAGS:
        raise ValidationError(
            key,
            f"sets {len(tags)} tags; with the components' own tags a resource would exceed {MAX_TAGS}",
            allowed=f"at most {MAX_CONFIG_TAGS} tags",
            stack=stack,
        )
    result: dict[str, str] = {}
    seen: dict[str, str] = {}
    for name, value in tags.items():
        name = require_tag_key(f"{key}.{name}", name, stack=stack)
        folded = name.casefold()
        if folded in seen:
            raise ValidationError(
                f"{key}.{name}",
                f"differs from tag {seen[folded]!r} only in case (Azure tag names are case-insensitive)",
                allowed="one spelling per tag name",
                stack=stack,
            )
        seen[folded] = name
        result[name] = require_tag_value(f"{key}.{name}", value, stack=stack)
    return result


# --- names --------------------------------------------------------------------------------------------

S3_BUCKET_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
S3_BUCKET_FORBIDDEN_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
S3_BUCKET_FORBIDDEN_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
S3_BUCKET_ALLOWED = (
    "3-63 lower-case letters, digits, '.' or '-', starting and ending with a letter or digit; no '..', "
    "no IP address form, no xn--/sthree-/amzn-s3-demo- prefix, no -s3alias/--ol-s3/.mrap/--x-s3/--table-s3 "
    "suffix"
)


def require_s3_bucket_name(key: str, value: object, *, stack: str | None = None) -> str:
    """An S3 general purpose bucket name (Amazon S3 User Guide, "General purpose bucket naming rules")."""
    ok = (
        isinstance(value, str)
        and S3_BUCKET_PATTERN.fullmatch(value) is not None
        and ".." not in value
        and ".-" not in value
        and "-." not in value
        and not value.startswith(S3_BUCKET_FORBIDDEN_PREFIXES)
        and not value.endswith(S3_BUCKET_FORBIDDEN_SUFFIXES)
        and not _looks_like_ipv4(value)
    )
    if not ok:
        raise ValidationError(
            key, "is not a valid S3 bucket name", value=value, allowed=S3_BUCKET_ALLOWED, stack=stack
        )
    assert isinstance(value, str)
    return value


def _looks_like_ipv4(value: str) -> bool:
    return re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", value) is not None


# --- IP ranges ----------------------------------------------------------------------------------------

NON_PUBLIC_IPV4 = tuple(
    ipaddress.IPv4Network(block)
    for block in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",  # RFC 1918
        "100.64.0.0/10",  # shared address space (carrier-grade NAT)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local
        "172.16.0.0/12",  # RFC 1918
        "192.168.0.0/16",  # RFC 1918
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved
    )
)
"""Ranges no firewall rule for internet callers can match. The documentation ranges (203.0.113.0/24, ...)
are not among them: they are public addresses and the shipped stacks use them as placeholders."""
PUBLIC_IPV4_ALLOWED = "a public IPv4 address or CIDR range like 203.0.113.0/24 (no host bits set)"


def require_public_ipv4_range(
    key: str, value: object, *, allow_any: bool = True, stack: str | None = None
) -> str:
    """A public IPv4 address or range for a service firewall (Key Vault, Storage, App Service SCM).

    Key Vault's firewall takes public IPv4 only: private (RFC 1918), shared, loopback and link-local
    ranges never match a caller (traffic from a VNet arrives through a private endpoint or service
    endpoint instead), and IPv6 is not supported.

    :param allow_any: whether ``0.0.0.0/0`` (everyone) is acceptable; refused for prod vaults.
    """
    try:
        network = ipaddress.ip_network(value, strict=True) if isinstance(value, str) else None
    except ValueError:
        network = None
    if network is None or network.version != 4:
        raise ValidationError(
            key, "is not an IPv4 address or range", value=value, allowed=PUBLIC_IPV4_ALLOWED, stack=stack
        )
    if network.prefixlen == 0:
        if not allow_any:
            raise ValidationError(
                key,
                "opens the firewall to every address",
                value=value,
                allowed="the callers' own public ranges",
                stack=stack,
            )
        return str(value)
    if any(network.overlaps(block) for block in NON_PUBLIC_IPV4):
        raise ValidationError(
            key,
            "is not a public range (private, shared or reserved addresses never reach a public firewall)",
            value=value,
            allowed=PUBLIC_IPV4_ALLOWED,
            stack=stack,
        )
    return str(value)


def require_private_ipv4_cidr(key: str, value: object, *, stack: str | None = None) -> ipaddress.IPv4Network:
    """A private (RFC 1918) IPv4 CIDR for a virtual network or subnet address space."""
    try:
        network = ipaddress.ip_network(value, strict=True) if isinstance(value, str) else None
    except ValueError:
        network = None
    if not isinstance(network, ipaddress.IPv4Network) or not any(
        network.subnet_of(ipaddress.IPv4Network(block))
        for block in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
    ):
        raise ValidationError(
            key,
            "is not a private IPv4 range",
            value=value,
            allowed="a CIDR inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, like 10.20.0.0/16",
            stack=stack,
        )
    return network


# --- duplicates and cross-references ------------------------------------------------------------------


def require_unique(
    key: str, items: Iterable[tuple[str, str]], *, what: str, casefold: bool = False, stack: str | None = None
) -> None:
    """Refuse a value used twice across the stack.

    :param key: unused when a duplicate is found (the duplicate's own key is named); kept for symmetry.
    :param items: ``(config key, value)`` pairs, in config order.
    :param what: what the values are, for the message (``site name``).
    :param casefold: compare case-insensitively (Azure names, e-mail addresses).
    """
    del key
    seen: dict[str, str] = {}
    for item_key, value in items:
        folded = value.casefold() if casefold else value
        if folded in seen:
            raise ValidationError(
                item_key,
                f"repeats the {what} of {seen[folded]}",
                value=value,
                allowed=f"a {what} used once in the stack",
                stack=stack,
            )
        seen[folded] = item_key


def require_declared(
    key: str, value: str, declared: Iterable[str], *, what: str, where: str, stack: str | None = None
) -> str:
    """A reference to something the stack declares elsewhere (an app setting naming a vault secret).

    :param what: what is referenced (``secret``).
    :param where: the key that declares them (``platform:vault.secrets``).
    """
    names = sorted(declared)
    if value not in names:
        raise ValidationError(
            key,
            f"names a {what} that {where} does not declare",
            value=value,
            allowed=", ".join(names) if names else f"(none declared in {where})",
            stack=stack,
        )
    return value


__all__ = [
    "AWS_REGIONS",
    "AZURE_LOCATIONS",
    "AZURE_ZONAL_LOCATIONS",
    "MAX_CHAINED_SESSION_SECONDS",
    "MAX_TAGS",
    "require_aws_region",
    "require_azure_location",
    "require_chained_session_duration",
    "require_declared",
    "require_external_id",
    "require_finite_number",
    "require_private_ipv4_cidr",
    "require_public_ipv4_range",
    "require_s3_bucket_name",
    "require_tag_key",
    "require_tag_value",
    "require_tags",
    "require_unique",
]
