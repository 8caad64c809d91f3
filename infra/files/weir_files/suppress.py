"""Scanner findings that are accepted, each with its reason, attached to the resource."""

from __future__ import annotations

from aws_cdk import CfnResource
from constructs import IConstruct


def checkov(construct: IConstruct, **reasons: str) -> None:
    """`checkov(x, CKV_AWS_117="why")`: skip these checkov checks on x's CFN resource."""
    res = construct if isinstance(construct, CfnResource) else construct.node.default_child
    existing = res.get_metadata("checkov") or {"skip": []}
    existing["skip"].extend({"id": k, "comment": v} for k, v in reasons.items())
    res.add_metadata("checkov", existing)


def cfn_lint(construct: IConstruct, *rules: str) -> None:
    res = construct if isinstance(construct, CfnResource) else construct.node.default_child
    res.add_metadata("cfn-lint", {"config": {"ignore_checks": list(rules)}})
