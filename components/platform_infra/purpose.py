"""Purpose tags: what a resource is for, where the policy pack cannot tell it from the type alone.

An S3 bucket is a bucket; whether it holds Pulumi state (and so must have server access logging, see the
``s3-state-bucket-access-logging`` rule in ``policy/rules.py``) is a fact about its use. The components
that create such resources tag them with :data:`PURPOSE_TAG`, and the rules read the same constants, so
the definition lives here once. A state bucket made outside :class:`~platform_infra.state_backend.
AwsStateBackend` is judged the same way once it carries the tag.
"""

from __future__ import annotations

PURPOSE_TAG = "platform:purpose"
"""Tag key naming a resource's purpose."""
STATE_BUCKET = "pulumi-state"
"""Value of :data:`PURPOSE_TAG` on the S3 bucket a Pulumi state backend (``s3://...``) lives in."""
STATE_REPLICA = "pulumi-state-replica"
"""Value of :data:`PURPOSE_TAG` on a replica of a state bucket."""
