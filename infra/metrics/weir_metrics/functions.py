"""One Weir Lambda function: its role and inline policy, its log group, the function.

Python 3.12 on arm64 with the bundle `make lambda-zip` builds (Weir, msgspec and
Powertools; boto3 comes from the runtime), X-Ray active tracing, JSON logs into a log
group the stack creates first with a fixed retention (otherwise Lambda creates
`/aws/lambda/<name>` itself, kept forever), and reserved concurrency.
The environment holds exactly the variables `contract.function_env` lists; never
AWS_REGION (the runtime sets it; `contract.check_never_region`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from weir_metrics import TYPE_PREFIX, access, contract, naming

RUNTIME = "python3.12"
ARCHITECTURE = "arm64"


@dataclass
class FunctionArgs:
    function: str  # api, stream, alerts, exporter
    environment: str
    code: pulumi.Input[pulumi.Archive]
    variables: Mapping[str, pulumi.Input[str]]
    statements: pulumi.Input[list]  # from access.statements, resolved ARNs inside
    tags: pulumi.Input[dict[str, str]]
    memory_mb: pulumi.Input[int] = 512
    timeout_seconds: pulumi.Input[int] = 30
    reserved_concurrency: pulumi.Input[int] = -1  # -1: none reserved
    log_retention_days: pulumi.Input[int] = 7


class Function(pulumi.ComponentResource):
    def __init__(self, name: str, args: FunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}Function", name, None, opts)
        fn, env = args.function, args.environment
        contract.check_never_region({fn: tuple(args.variables)})
        child = pulumi.ResourceOptions(parent=self)
        self.log_group = aws.cloudwatch.LogGroup(
            naming.name(f"{fn}-logs", env),
            name=naming.log_group_name(fn, env),
            retention_in_days=args.log_retention_days,
            tags=args.tags,
            opts=child,
        )
        self.role = aws.iam.Role(
            naming.name(f"{fn}-role", env),
            description=f"Weir {fn} function ({env}): least privilege, see infra/metrics/weir_metrics/access.py",
            assume_role_policy=pulumi.Output.json_dumps(access.assume_role_policy()),
            tags=args.tags,
            opts=child,
        )
        self.policy_document = pulumi.Output.all(self.log_group.arn, args.statements).apply(
            lambda v: access.document(access.baseline(v[0]) + list(v[1]))
        )
        self.policy = aws.iam.RolePolicy(
            naming.name(f"{fn}-policy", env),
            role=self.role.id,
            policy=pulumi.Output.json_dumps(self.policy_document),
            opts=child,
        )
        self.function = aws.lambda_.Function(
            naming.name(fn, env),
            name=naming.function_name(fn, env),
            description=f"Weir {fn} ({env})",
            role=self.role.arn,
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            handler=contract.handler(fn),
            code=args.code,
            memory_size=args.memory_mb,
            timeout=args.timeout_seconds,
            reserved_concurrent_executions=args.reserved_concurrency,
            tracing_config={"mode": "Active"},
            logging_config={"log_format": "JSON", "log_group": self.log_group.name},
            environment={"variables": dict(args.variables)},
            tags=args.tags,
            # The role must hold its policy (logs, tracing) before the function first runs.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.policy, self.log_group]),
        )
        self.register_outputs({
            "function_name": self.function.name,
            "function_arn": self.function.arn,
            "role_arn": self.role.arn,
            "log_group": self.log_group.name,
        })
