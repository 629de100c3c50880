"""What a per-pull-request review stack is allowed to touch: its names, its AWS permissions, its state.

Review stacks are ``pr-<number>`` (``infra review``, docs/pipelines.md) and run the pull request's own code,
so their deploy identity holds nothing dev's own stack owns. This module states the rules once, for the
review config derivation (``cli/review.py``), the bootstrap that creates the identity
(``program/bootstrap.py``) and the access report (``cli/access.py``):

- stack names start with :data:`REVIEW_STACK_PREFIX`; the state objects reachable are those of
  :data:`REVIEW_STACK_PATTERN` only (Pulumi's DIY backend keys, ``state_backend.stack_object_patterns``);
- AWS resources: only CloudWatch log groups under :data:`REVIEW_LOG_GROUP_PREFIX` (``/platform/pr-``), which
  is all a review stack declares on AWS (the retention enforcer and alarms are left out of its config);
- the review deploy role carries :data:`ENVIRONMENT_TAG` = :data:`REVIEW_ENVIRONMENT`, so the access report
  files what it reaches under ``review``, not under the account's own environment.
"""

from __future__ import annotations

from typing import Any

REVIEW_STACK_PREFIX = "pr-"
"""Every review stack's name starts with it (``pr-<number>``)."""
REVIEW_STACK_PATTERN = f"{REVIEW_STACK_PREFIX}*"
"""The review stacks in IAM/S3 wildcard syntax."""
REVIEW_ENVIRONMENT = "review"
"""The name the review stacks' state, secrets key and identities go by (secrets alias ``<prefix>-review``)."""
REVIEW_DEPLOY_ROLE = "platform-review-deploy"
"""Role the review stacks' AWS provider assumes in the base (dev) account: not dev's deploy role."""
REVIEW_LOG_GROUP_PREFIX = f"/platform/{REVIEW_STACK_PREFIX}"
"""Log groups of review stacks are ``/platform/pr-<number>/...`` (``infra review config`` renames them)."""
ENVIRONMENT_TAG = "platform:environment"
"""Tag on a role that deploys stacks other than its account's own environment (value: their name)."""

#: CloudWatch Logs actions Pulumi's LogGroup needs (create with tags and retention, read, delete), on the
#: review log groups only. AWS Service Authorization Reference, "Actions defined by Amazon CloudWatch Logs":
#: these take the ``log-group`` resource type; DescribeLogGroups lists and takes ``log-group:*``.
REVIEW_LOG_ACTIONS = (
    "logs:AssociateKmsKey",
    "logs:CreateLogGroup",
    "logs:DeleteLogGroup",
    "logs:DeleteRetentionPolicy",
    "logs:DisassociateKmsKey",
    "logs:ListTagsForResource",
    "logs:ListTagsLogGroup",
    "logs:PutRetentionPolicy",
    "logs:TagLogGroup",
    "logs:TagResource",
    "logs:UntagLogGroup",
    "logs:UntagResource",
)


def review_deploy_statements(partition: str, account_id: str) -> list[dict[str, Any]]:
    """The review deploy role's permissions: the review log groups, nothing else (no IAM, no PassRole)."""
    groups = f"arn:{partition}:logs:*:{account_id}:log-group:{REVIEW_LOG_GROUP_PREFIX}*"
    return [
        {
            "Sid": "ReviewStacksLogGroups",
            "Effect": "Allow",
            "Action": list(REVIEW_LOG_ACTIONS),
            "Resource": groups,
        },
        {
            # Listing returns names and settings of every group; it changes nothing.
            "Sid": "ListLogGroups",
            "Effect": "Allow",
            "Action": "logs:DescribeLogGroups",
            "Resource": f"arn:{partition}:logs:*:{account_id}:log-group:*",
        },
    ]
