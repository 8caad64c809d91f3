"""The REST API: API Gateway → the `api` function (Lambda proxy), for every Weir route.

`/{proxy+}` and the root go to the function, which resolves the path with the same route
table as `weir serve`; `/health` is its own resource so that it stays open without a key.
Writes (POST, PUT, DELETE) need an API key, as `weir serve` wants one once any key
exists; reads need one too unless `open_reads` (`weir serve --open-reads`). The key's
usage plan throttles and caps it, as `weir serve --rate-limit` does locally.

Binary media types: OTLP sends `application/x-protobuf`, Prometheus remote write and read
send it snappy-compressed (`Content-Encoding: snappy`), and any client may gzip a body
(`Content-Encoding: gzip`) whatever its Content-Type; API Gateway decides "binary" by
Content-Type alone, so `*/*` is listed too: every body reaches the function base64
encoded and `weir.http.responses.request_body` decodes it, byte for byte. Text responses
pass through unchanged; binary ones (protobuf, remote read's snappy answers) are sent
base64 by the function, and `*/*` turns them back into bytes whatever the client's
`Accept` (Prometheus sends none).
Errors API Gateway answers itself (bad key, throttled, quota) use Weir's error shape.

The web UI (`/ui`, `/ui/{proxy+}`) and `GET /` (which sends a browser to it) need no key: a
browser loading a page cannot send one, and they hold no data; the page asks for the key
before it reads anything, as `weir serve` does. Its files go out gzipped and base64 encoded,
which API Gateway decodes for the browser since `*/*` is a binary media type.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from weir_metrics import TYPE_PREFIX, naming

BINARY_MEDIA_TYPES = ("application/x-protobuf", "application/gzip", "*/*")
READ_METHODS = ("GET",)
WRITE_METHODS = ("POST", "PUT", "DELETE")
# Weir's error body, {"error": code, "message": text}, for the answers API Gateway gives itself.
ERROR_TEMPLATE = '{"error": "$context.error.responseType", "message": $context.error.messageString}'
KEY_TEMPLATE = ('{"error": "unauthorized", "message": "this request needs an API key in the x-api-key header '
                '(pulumi stack output api_key --show-secrets)"}')
GATEWAY_RESPONSES = {"DEFAULT_4XX": ERROR_TEMPLATE, "DEFAULT_5XX": ERROR_TEMPLATE, "INVALID_API_KEY": KEY_TEMPLATE}


@dataclass
class ApiArgs:
    environment: str
    function_name: pulumi.Input[str]
    invoke_arn: pulumi.Input[str]
    tags: pulumi.Input[dict[str, str]]
    open_reads: bool = False
    rate_limit: float = 100.0  # requests per second per key, steady
    burst_limit: int = 200
    quota_per_day: int = 1_000_000
    stage_rate_limit: float = 500.0  # the whole stage, keyed or not
    stage_burst_limit: int = 1000


UI_RESOURCES = ("/ui", "/ui/{proxy+}")


def method_table(open_reads: bool) -> list[tuple[str, str, bool]]:
    """(resource, HTTP method, API key required) for every method the API defines."""
    methods = [(res, m, not open_reads and res != "/") for res in ("/", "/{proxy+}") for m in READ_METHODS]
    methods += [(res, m, True) for res in ("/", "/{proxy+}") for m in WRITE_METHODS]
    methods.append(("/health", "GET", False))
    methods.append(("/ping", "GET", False))  # InfluxDB clients' and Telegraf's probe, keyless as in InfluxDB
    methods += [(res, "GET", False) for res in UI_RESOURCES]
    return methods


class Api(pulumi.ComponentResource):
    def __init__(self, name: str, args: ApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}Api", name, None, opts)
        env = args.environment
        child = pulumi.ResourceOptions(parent=self)
        self.rest_api = aws.apigateway.RestApi(
            naming.name("api", env),
            name=naming.name("api", env),
            description=f"Weir metrics API ({env})",
            binary_media_types=list(BINARY_MEDIA_TYPES),
            api_key_source="HEADER",
            endpoint_configuration={"types": "REGIONAL"},
            tags=args.tags,
            opts=child,
        )
        resources = {
            "/": self.rest_api.root_resource_id,
            "/{proxy+}": aws.apigateway.Resource(naming.name("api-proxy", env), rest_api=self.rest_api.id,
                                                 parent_id=self.rest_api.root_resource_id, path_part="{proxy+}",
                                                 opts=child).id,
            "/health": aws.apigateway.Resource(naming.name("api-health", env), rest_api=self.rest_api.id,
                                               parent_id=self.rest_api.root_resource_id, path_part="health",
                                               opts=child).id,
            "/ping": aws.apigateway.Resource(naming.name("api-ping", env), rest_api=self.rest_api.id,
                                             parent_id=self.rest_api.root_resource_id, path_part="ping",
                                             opts=child).id,
        }
        ui = aws.apigateway.Resource(naming.name("api-ui", env), rest_api=self.rest_api.id,
                                     parent_id=self.rest_api.root_resource_id, path_part="ui", opts=child)
        resources["/ui"] = ui.id
        resources["/ui/{proxy+}"] = aws.apigateway.Resource(naming.name("api-ui-proxy", env), rest_api=self.rest_api.id,
                                                            parent_id=ui.id, path_part="{proxy+}", opts=child).id
        self.methods: dict[tuple[str, str], aws.apigateway.Method] = {}
        self.integrations: dict[tuple[str, str], aws.apigateway.Integration] = {}
        table = method_table(args.open_reads)
        for path, verb, key_required in table:
            slug = {"/": "root", "/{proxy+}": "proxy", "/health": "health", "/ping": "ping", "/ui": "ui",
                    "/ui/{proxy+}": "ui-proxy"}[path]
            method = aws.apigateway.Method(
                naming.name(f"api-{slug}-{verb.lower()}", env),
                rest_api=self.rest_api.id,
                resource_id=resources[path],
                http_method=verb,
                authorization="NONE",  # the API key (usage plan) is the credential
                api_key_required=key_required,
                opts=child,
            )
            self.methods[(path, verb)] = method
            self.integrations[(path, verb)] = aws.apigateway.Integration(
                naming.name(f"api-{slug}-{verb.lower()}-lambda", env),
                rest_api=self.rest_api.id,
                resource_id=resources[path],
                http_method=method.http_method,
                type="AWS_PROXY",
                integration_http_method="POST",  # Lambda is always invoked with POST
                uri=args.invoke_arn,
                opts=child,
            )
        self.responses = [
            aws.apigateway.Response(
                naming.name(f"api-response-{kind.lower().replace('_', '-')}", env),
                rest_api_id=self.rest_api.id,
                response_type=kind,
                response_templates={"application/json": template},
                response_parameters={"gatewayresponse.header.Content-Type": "'application/json'"},
                opts=child,
            )
            for kind, template in GATEWAY_RESPONSES.items()
        ]
        # A deployment is a snapshot: redeploy whenever what it snapshots changes.
        spec = json.dumps({"methods": table, "binary": BINARY_MEDIA_TYPES, "responses": GATEWAY_RESPONSES},
                          sort_keys=True)
        self.deployment = aws.apigateway.Deployment(
            naming.name("api-deployment", env),
            rest_api=self.rest_api.id,
            description=f"Weir metrics API ({env})",
            triggers={"spec": hashlib.sha256(spec.encode()).hexdigest()},
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*self.methods.values(), *self.integrations.values(), *self.responses],
            ),
        )
        self.stage = aws.apigateway.Stage(
            naming.name("api-stage", env),
            rest_api=self.rest_api.id,
            deployment=self.deployment.id,
            stage_name=env,
            xray_tracing_enabled=True,
            tags=args.tags,
            opts=child,
        )
        self.stage_settings = aws.apigateway.MethodSettings(
            naming.name("api-stage-throttle", env),
            rest_api=self.rest_api.id,
            stage_name=self.stage.stage_name,
            method_path="*/*",
            settings={"throttling_rate_limit": args.stage_rate_limit,
                      "throttling_burst_limit": args.stage_burst_limit},
            opts=child,
        )
        self.permission = aws.lambda_.Permission(
            naming.name("api-invoke", env),
            action="lambda:InvokeFunction",
            function=args.function_name,
            principal="apigateway.amazonaws.com",
            # this API's stage only: any method, any path
            source_arn=self.stage.execution_arn.apply(lambda arn: f"{arn}/*/*"),
            opts=child,
        )
        self.api_key = aws.apigateway.ApiKey(
            naming.name("api-key", env),
            name=naming.name("api-key", env),
            description=f"Weir metrics API ({env}): writes, and reads unless open",
            enabled=True,
            tags=args.tags,
            opts=child,
        )
        self.usage_plan = aws.apigateway.UsagePlan(
            naming.name("api-usage-plan", env),
            name=naming.name("api-usage-plan", env),
            description=f"Weir metrics API ({env}): per-key throttling and daily quota",
            api_stages=[{"api_id": self.rest_api.id, "stage": self.stage.stage_name}],
            throttle_settings={"rate_limit": args.rate_limit, "burst_limit": args.burst_limit},
            quota_settings={"limit": args.quota_per_day, "period": "DAY"},
            tags=args.tags,
            opts=child,
        )
        self.usage_plan_key = aws.apigateway.UsagePlanKey(
            naming.name("api-usage-plan-key", env),
            key_id=self.api_key.id,
            key_type="API_KEY",
            usage_plan_id=self.usage_plan.id,
            opts=child,
        )
        self.url = self.stage.invoke_url
        self.register_outputs({"url": self.stage.invoke_url, "api_key_id": self.api_key.id,
                               "rest_api_id": self.rest_api.id})
