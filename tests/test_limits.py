"""validation/limits.py: the clouds' documented limits as rule functions (sources: the module docstring)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import botocore
import pytest
from platform_infra.validation import ValidationError
from platform_infra.validation.limits import (
    AWS_REGIONS,
    AZURE_LOCATIONS,
    MAX_CONFIG_TAGS,
    require_aws_region,
    require_azure_location,
    require_chained_session_duration,
    require_external_id,
    require_private_ipv4_cidr,
    require_public_ipv4_range,
    require_s3_bucket_name,
    require_tags,
    require_unique,
)

BOTOCORE_DATA = Path(botocore.__file__).parent / "data"


def test_pinned_aws_regions_are_botocores_partition_data() -> None:
    """The pinned list is botocore's data/partitions.json (the endpoint data of the AWS SDKs)."""
    partitions = json.loads((BOTOCORE_DATA / "partitions.json").read_text())["partitions"]
    regions = {r for p in partitions for r in p["regions"] if not r.endswith("-global")}
    assert regions == AWS_REGIONS


def test_external_id_limits_are_stss_own() -> None:
    """botocore's STS model: externalIdType is 2-1224 characters of [\\w+=,.@:/-]."""
    model = json.loads(
        gzip.decompress((BOTOCORE_DATA / "sts" / "2011-06-15" / "service-2.json.gz").read_bytes())
    )
    shape = model["shapes"]["externalIdType"]
    assert (shape["min"], shape["max"]) == (2, 1224)
    assert require_external_id("k", "ab") == "ab"
    assert require_external_id("k", "a" * 1224)
    for bad in ("a", "a" * 1225, "has space", "émoji"):
        with pytest.raises(ValidationError) as error:
            require_external_id("platform:awsExternalId", bad, stack="dev")
        assert bad not in str(error.value) or bad == "a"  # the value is never printed
        assert "value not shown" in str(error.value)


@pytest.mark.parametrize("region", ["eu-west-9", "eu-west", "westeurope", "EU-WEST-1", "us-gov-east-9"])
def test_regions_that_do_not_exist_are_refused(region: str) -> None:
    with pytest.raises(ValidationError, match=r"stack 'dev': platform:aws.region: is not an AWS region"):
        require_aws_region("platform:aws.region", region, stack="dev")


def test_real_regions_pass() -> None:
    for region in ("eu-west-1", "us-gov-west-1", "cn-north-1", "ap-southeast-7"):
        assert require_aws_region("k", region) == region
    for location in ("westeurope", "northeurope", "swedencentral", "australiacentral2"):
        assert require_azure_location("k", location) == location


@pytest.mark.parametrize("location", ["westeurope2", "west-europe", "WestEurope", "eu-west-1"])
def test_azure_locations_that_do_not_exist_are_refused(location: str) -> None:
    assert "westeurope" in AZURE_LOCATIONS
    with pytest.raises(ValidationError, match="is not an Azure location"):
        require_azure_location("platform:azure.location", location, stack="dev")


def test_chained_sessions_are_capped_at_one_hour() -> None:
    """IAM User Guide, role chaining: a chained session lasts at most one hour; STS refuses more."""
    assert require_chained_session_duration("k", 3600) == 3600
    assert require_chained_session_duration("k", 900) == 900
    for bad in (3601, 43200, 899, 1.5, float("nan"), float("inf")):
        with pytest.raises(ValidationError):
            require_chained_session_duration("k", bad)


@pytest.mark.parametrize(
    ("tags", "problem"),
    [
        ({f"t{i}": "v" for i in range(MAX_CONFIG_TAGS + 1)}, "would exceed 50"),
        ({"owner": "x" * 257}, "is not a valid tag value"),
        ({"k" * 129: "v"}, "is not a valid tag name"),
        ({"owner": "line\nbreak"}, "is not a valid tag value"),
        ({"owner": "team 🚀"}, "is not a valid tag value"),
        ({"aws:owner": "x"}, "is not a valid tag name"),
        ({"AWS:owner": "x"}, "is not a valid tag name"),
        ({"microsoftTeam": "x"}, "is not a valid tag name"),
        ({"Azure-thing": "x"}, "is not a valid tag name"),
        ({"cost/centre": "x"}, "is not a valid tag name"),
        ({"a<b": "x"}, "is not a valid tag name"),
        ({"owner": "a", "Owner": "b"}, "only in case"),
    ],
)
def test_tags_beyond_either_clouds_limits_are_refused(tags: dict[str, str], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem) as error:
        require_tags("platform:tags", tags, stack="dev")
    assert str(error.value).startswith("stack 'dev': platform:tags")
    assert "\n" not in str(error.value).replace("line\\nbreak", "")


def test_tags_both_clouds_accept_pass() -> None:
    tags = {
        "owner": "platform-team",
        "cost-centre": "CC-1001",
        "Ünïcode": "wert mit Leerzeichen",
        "a.b:c": "",
    }
    assert require_tags("platform:tags", tags) == tags


@pytest.mark.parametrize(
    "name",
    [
        "192.168.5.4",
        "xn--bucket",
        "sthree-bucket",
        "amzn-s3-demo-bucket",
        "bucket-s3alias",
        "bucket--ol-s3",
        "bucket.mrap",
        "bucket--x-s3",
        "my..bucket",
        "my.-bucket",
        "My-Bucket",
        "ab",
        "a" * 64,
        "-bucket",
        "bucket-",
    ],
)
def test_bucket_names_s3_refuses(name: str) -> None:
    """Amazon S3 User Guide, "General purpose bucket naming rules"."""
    with pytest.raises(ValidationError, match="is not a valid S3 bucket name"):
        require_s3_bucket_name("platform:bootstrap.stateBackend.bucketName", name, stack="shared")


def test_bucket_names_s3_accepts() -> None:
    for name in ("example-org-platform-pulumi-state", "a.b.c", "abc", "a" * 63):
        assert require_s3_bucket_name("k", name) == name


@pytest.mark.parametrize("ip", ["10.0.0.0/8", "10.1.2.3", "172.16.5.0/24", "192.168.0.0/16", "100.64.0.1"])
def test_private_ranges_are_refused_for_public_firewalls(ip: str) -> None:
    """Key Vault network security: IP rules are for public addresses; RFC 1918 ranges are not allowed."""
    with pytest.raises(ValidationError, match="is not a public range"):
        require_public_ipv4_range("platform:vault.allowedIpRanges[0]", ip, stack="dev")


def test_everyone_is_refused_only_where_asked() -> None:
    assert require_public_ipv4_range("k", "0.0.0.0/0") == "0.0.0.0/0"
    with pytest.raises(ValidationError, match="every address"):
        require_public_ipv4_range("k", "0.0.0.0/0", allow_any=False)
    for bad in ("203.0.113.1/24", "2001:db8::/32", "not-an-ip", 42):
        with pytest.raises(ValidationError, match="is not an IPv4"):
            require_public_ipv4_range("k", bad)
    assert require_public_ipv4_range("k", "203.0.113.0/24") == "203.0.113.0/24"


def test_vnet_ranges_must_be_private() -> None:
    assert str(require_private_ipv4_cidr("k", "10.20.0.0/16")) == "10.20.0.0/16"
    for bad in ("203.0.113.0/24", "10.20.0.1/16", "fd00::/8"):
        with pytest.raises(ValidationError, match="is not a private IPv4 range"):
            require_private_ipv4_cidr("k", bad)


def test_duplicates_name_the_second_key_and_the_first() -> None:
    items = [("a[0]", "Web"), ("a[1]", "api"), ("a[2]", "web")]
    require_unique("a", items, what="site name")  # case matters unless told
    with pytest.raises(ValidationError, match=r"a\[2\]: repeats the site name of a\[0\]"):
        require_unique("a", items, what="site name", casefold=True, stack="dev")
