"""Routes of alert rules, their events, and webhook subscriptions."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Response, Router

from weir.errors import InvalidInputError, UnavailableError
from weir.http.responses import json_response, query_params, request_body
from weir.http.services import ApiServices


def router(services: ApiServices) -> Router:
    app = Router()

    def alerts():
        if services.alerts is None:
            raise UnavailableError("alerting is not configured in this deployment")
        return services.alerts

    def params() -> dict[str, str]:
        return query_params(app.current_event)

    def body() -> bytes | str:
        data = request_body(app.current_event, accept=("application/json",), empty_ok=True)
        if not data:
            raise InvalidInputError("the request body is empty; send the object as JSON (see GET /openapi.json)")
        return data

    def allow_unknown() -> bool:
        p = params()
        value = p.pop("allow_unknown_metric", "false").lower()
        if p:
            raise InvalidInputError(f"{next(iter(p))}: unknown query parameter; known: allow_unknown_metric")
        if value not in ("true", "false"):
            raise InvalidInputError("allow_unknown_metric: true or false")
        return value == "true"

    @app.post("/alerts")
    def create_alert():
        return json_response(201, alerts().create_rule(body(), allow_unknown_metric=allow_unknown()))

    @app.get("/alerts")
    def list_alerts():
        return json_response(200, alerts().list_rules())

    @app.get("/alerts/events")
    def alert_events():
        return json_response(200, alerts().events(params()))

    @app.get("/alerts/<rule_id>")
    def get_alert(rule_id: str):
        return json_response(200, alerts().get_rule(rule_id))

    @app.put("/alerts/<rule_id>")
    def replace_alert(rule_id: str):
        return json_response(200, alerts().replace_rule(rule_id, body(), allow_unknown_metric=allow_unknown()))

    @app.delete("/alerts/<rule_id>")
    def delete_alert(rule_id: str):
        alerts().delete_rule(rule_id)
        return Response(status_code=204, body="")

    @app.get("/alerts/<rule_id>/history")
    def alert_history(rule_id: str):
        return json_response(200, alerts().history(rule_id, params()))

    @app.post("/subscriptions")
    def create_subscription():
        return json_response(201, alerts().create_subscription(body()))

    @app.get("/subscriptions")
    def list_subscriptions():
        return json_response(200, alerts().list_subscriptions())

    @app.get("/subscriptions/<sub_id>")
    def get_subscription(sub_id: str):
        return json_response(200, alerts().get_subscription(sub_id))

    @app.delete("/subscriptions/<sub_id>")
    def delete_subscription(sub_id: str):
        alerts().delete_subscription(sub_id)
        return Response(status_code=204, body="")

    return app
