"""The CDK app of Weir's file pipeline: `cdk deploy -c environment=prod` from this folder.

It also synthesizes in plain Python (`python app.py`, output in $CDK_OUTDIR or
./cdk.out), which is what the tests do; no CDK CLI is needed for that.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import aws_cdk as cdk

sys.path.insert(0, str(Path(__file__).resolve().parent))

from weir_files.naming import check_environment
from weir_files.stack import FilesStack

# Feature flags set here rather than only in cdk.json, so that a plain-Python synthesis
# (the tests) builds the same template as `cdk synth`.
FEATURE_FLAGS = {
    # Grant S3 log delivery through the bucket policy: the log bucket keeps ACLs disabled.
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
    "@aws-cdk/aws-iam:minimizePolicies": True,
    "@aws-cdk/aws-kms:reduceCrossAccountRegionPolicyScope": True,
    "@aws-cdk/aws-s3:keepNotificationInImportedBucket": True,
}


def main() -> cdk.App:
    app = cdk.App(post_cli_context=FEATURE_FLAGS)
    environment = check_environment(app.node.try_get_context("environment") or "dev")
    deletion = app.node.try_get_context("files_deletion") or "tombstone"
    FilesStack(
        app,
        f"WeirFiles-{environment}",
        environment=environment,
        deletion=deletion,
        env=cdk.Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")),
        description=f"Weir file-metadata pipeline ({environment}): S3 events -> Lambda -> DynamoDB",
    )
    app.synth()
    return app


if __name__ == "__main__":
    main()
