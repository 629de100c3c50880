"""components/environment.py: the cross-account providers and the typed environment."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest
from platform_infra.cli.mocks import is_secret_value, unwrap_secrets
from platform_infra.environment import AwsTarget, AzureTarget, Environment, Tier, session_name
from platform_infra.validation import ValidationError

from tests.conftest import make_environment, make_providers


def _assume_roles(resource) -> list[dict]:
    raw = resource.inputs["assumeRoles"]
    return json.loads(unwrap_secrets(raw))


def test_aws_provider_assumes_the_deploy_role_of_its_own_account(pulumi_run) -> None:
    run = pulumi_run(lambda: make_providers(make_environment(Tier.STAGING)), stack="staging")
    provider = run.one("pulumi:providers:aws")
    (role,) = _assume_roles(provider)
    assert role["roleArn"] == "arn:aws:iam::222222222222:role/platform-deploy"
    assert role["sessionName"] == "pulumi-platform-staging"
    assert role["duration"] == "3600s"
    assert json.loads(provider.inputs["allowedAccountIds"]) == ["222222222222"]
    assert provider.inputs["region"] == "eu-west-1"
    tags = json.loads(provider.inputs["defaultTags"])["tags"]
    assert tags == {"owner": "platform-team", "cost-centre": "CC-1001", "environment": "staging"}


def test_external_id_reaches_the_provider_only_as_a_secret(pulumi_run) -> None:
    env = make_environment(Tier.PROD, external_id=pulumi.Output.secret("ext-123"))

    run = pulumi_run(lambda: make_providers(env), stack="prod")
    raw = run.one("pulumi:providers:aws").inputs["assumeRoles"]
    assert is_secret_value(raw)
    assert _assume_roles(run.one("pulumi:providers:aws"))[0]["externalId"] == "ext-123"


def test_no_external_id_means_none_is_sent(pulumi_run) -> None:
    run = pulumi_run(lambda: make_providers(make_environment(Tier.DEV)))
    provider = run.one("pulumi:providers:aws")
    assert not is_secret_value(provider.inputs["assumeRoles"])
    assert "externalId" not in _assume_roles(provider)[0]


def test_session_tags_reach_the_assume_role_call(pulumi_run) -> None:
    # A deploy role that requires a session tag refuses an AssumeRole without it.
    env = make_environment(Tier.PROD, session_tags={"platform-pipeline": "example-org/platform-infra"})
    run = pulumi_run(lambda: make_providers(env), stack="prod")
    (role,) = _assume_roles(run.one("pulumi:providers:aws"))
    assert role["tags"] == {"platform-pipeline": "example-org/platform-infra"}


def test_no_session_tags_means_none_are_sent(pulumi_run) -> None:
    run = pulumi_run(lambda: make_providers(make_environment(Tier.DEV)))
    assert "tags" not in _assume_roles(run.one("pulumi:providers:aws"))[0]


@pytest.mark.parametrize("tags", [{"aws:team": "x"}, {"AWS:team": "x"}, {"": "x"}, {"team": "a" * 257}])
def test_invalid_session_tags_are_refused(tags: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="session_tags"):
        make_environment(Tier.DEV, session_tags=tags)


def test_azure_provider_is_pinned_to_subscription_and_tenant(pulumi_run) -> None:
    run = pulumi_run(lambda: make_providers(make_environment(Tier.DEV)))
    azure = run.one("pulumi:providers:azure-native")
    assert azure.inputs["subscriptionId"] == "11111111-1111-4111-8111-111111111111"
    assert azure.inputs["tenantId"] == "99999999-9999-4999-8999-999999999999"
    assert azure.inputs["location"] == "westeurope"


def test_providers_are_children_of_the_component_and_outputs_registered(pulumi_run) -> None:
    run = pulumi_run(lambda: make_providers(make_environment(Tier.DEV)))
    component = run.one("platform:env:EnvironmentProviders")
    children = {r.type for r in run.children_of(component.urn)}
    assert children == {"pulumi:providers:aws", "pulumi:providers:azure-native", "pulumi:providers:random"}
    assert component.outputs["awsRoleArn"] == "arn:aws:iam::111111111111:role/platform-deploy"
    assert component.outputs["allowedAccountIds"] == ["111111111111"]


def test_children_of_a_component_given_resource_options_use_the_environment_providers(pulumi_run) -> None:
    def program() -> None:
        providers = make_providers(make_environment(Tier.DEV))

        class Holder(pulumi.ComponentResource):
            def __init__(self) -> None:
                super().__init__("test:index:Holder", "holder", None, providers.resource_options())
                aws.sns.Topic("topic", opts=pulumi.ResourceOptions(parent=self))

        Holder()

    run = pulumi_run(program)
    topic = run.one("aws:sns/topic:Topic")
    assert topic.provider_urn == run.one("pulumi:providers:aws").urn


def test_session_name_is_sanitised_and_bounded() -> None:
    assert session_name("platform", "dev") == "pulumi-platform-dev"
    assert session_name("my project", "x" * 80) == ("pulumi-my-project-" + "x" * 80)[:64]


def test_partition_follows_region() -> None:
    target = AwsTarget(account_id="111111111111", region="cn-north-1", deploy_role_name="d")
    assert target.deploy_role_arn == "arn:aws-cn:iam::111111111111:role/d"
    gov = AwsTarget(account_id="111111111111", region="us-gov-west-1", deploy_role_name="d")
    assert gov.partition == "aws-us-gov"


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"account_id": "12"}, "AwsTarget.account_id"),
        ({"region": "mars-1"}, "AwsTarget.region"),
        ({"deploy_role_name": "a b"}, "AwsTarget.deploy_role_name"),
        ({"session_duration_seconds": 100}, "AwsTarget.session_duration_seconds"),
    ],
)
def test_aws_target_arguments_are_validated(kwargs: dict, argument: str) -> None:
    base = {"account_id": "111111111111", "region": "eu-west-1", "deploy_role_name": "deploy"}
    with pytest.raises(ValidationError, match=argument):
        AwsTarget(**{**base, **kwargs})


def test_environment_requires_mandatory_tags() -> None:
    aws_target = AwsTarget(account_id="111111111111", region="eu-west-1", deploy_role_name="deploy")
    azure_target = AzureTarget(
        subscription_id="11111111-1111-4111-8111-111111111111",
        tenant_id="99999999-9999-4999-8999-999999999999",
        location="westeurope",
    )
    with pytest.raises(ValidationError, match=r"Environment.tags.cost-centre: is required"):
        Environment(name="dev", tier=Tier.DEV, aws=aws_target, azure=azure_target, tags={"owner": "me"})


AWS_ONLY = AwsTarget(account_id="111111111111", region="eu-west-1", deploy_role_name="deploy")
AZURE_ONLY = AzureTarget(
    subscription_id="11111111-1111-4111-8111-111111111111",
    tenant_id="99999999-9999-4999-8999-999999999999",
    location="westeurope",
)
TAGS = {"owner": "team-a", "cost-centre": "CC-1"}


@pytest.mark.parametrize("tier", ["dev", "staging", "prod"])
def test_tier_accepts_its_string_value(tier: str) -> None:
    """`tier="dev"` is the same as `Tier.DEV` (it used to be refused with "got 'dev'; allowed: dev, ...")."""
    environment = Environment(name="team", tier=tier, aws=AWS_ONLY, tags=TAGS)
    assert environment.tier is Tier(tier)
    assert environment.is_prod == (tier == "prod")


def test_unknown_tier_is_refused_naming_the_argument() -> None:
    with pytest.raises(ValidationError, match=r"Environment.tier: is not a tier \(got 'production'\)"):
        Environment(name="team", tier="production", aws=AWS_ONLY, tags=TAGS)


def test_an_environment_needs_at_least_one_cloud() -> None:
    with pytest.raises(ValidationError, match=r"Environment: needs a cloud"):
        Environment(name="team", tier="dev", tags=TAGS)


def test_aws_only_environment_gets_only_aws_and_random_providers(pulumi_run) -> None:
    environment = Environment(name="team", tier="dev", aws=AWS_ONLY, tags=TAGS)

    def program() -> None:
        providers = make_providers(environment)
        assert providers.azure_provider is None
        with pytest.raises(ValidationError, match=r"Environment.azure: is not set: environment 'team'"):
            providers.azure  # noqa: B018
        pulumi.export("role", providers.aws_role_arn)

    run = pulumi_run(program)
    types = sorted(r.type for r in run.resources if r.is_provider)
    assert types == ["pulumi:providers:aws", "pulumi:providers:random"]
    assert run.stack_outputs["role"] == "arn:aws:iam::111111111111:role/deploy"


def test_azure_only_environment_gets_only_azure_and_random_providers(pulumi_run) -> None:
    environment = Environment(name="team", tier="prod", azure=AZURE_ONLY, tags=TAGS)

    def program() -> None:
        providers = make_providers(environment)
        assert providers.aws_role_arn is None
        with pytest.raises(ValidationError, match=r"Environment.aws: is not set: environment 'team'"):
            providers.aws  # noqa: B018
        with pytest.raises(ValidationError, match=r"Environment.aws: is not set"):
            environment.aws  # noqa: B018

    run = pulumi_run(program)
    types = sorted(r.type for r in run.resources if r.is_provider)
    assert types == ["pulumi:providers:azure-native", "pulumi:providers:random"]
