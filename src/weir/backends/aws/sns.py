"""Alert notifications through Amazon SNS.

Each event is published as its JSON, with message attributes that subscription filter
policies match on: `severity`, `metric`, `rule_id`, `state`, `previous_state`,
`environment` and `kind` as String, and `value` as Number (when there is one). The
topic is KMS-encrypted by infra; this adapter only needs `sns:Publish` on it.

On a FIFO topic (`.fifo`) the event id is the deduplication id, so SNS itself drops a
repeat published after a crash between publishing and recording the delivery.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from weir.errors import DeliveryError
from weir.metrics.alerts.model import AlertEvent
from weir.metrics.alerts.notify import attributes, message

MAX_SUBJECT = 100


def subject(event: AlertEvent) -> str:
    """SNS subjects are ASCII, without line breaks, at most 100 characters."""
    text = f"{event.state}: {event.rule_name} [{event.severity}]"
    text = text.encode("ascii", "replace").decode().replace("\n", " ").replace("\r", " ")
    return text[:MAX_SUBJECT]


def message_attributes(event: AlertEvent) -> dict[str, dict[str, str]]:
    out = {}
    for key, value in attributes(event).items():
        if isinstance(value, str):
            out[key] = {"DataType": "String", "StringValue": value}
        else:
            text = f"{value:.5f}".rstrip("0").rstrip(".")
            out[key] = {"DataType": "Number", "StringValue": text if text not in ("", "-0") else "0"}
    return out


class SnsNotifier:
    def __init__(self, client, topic_arn: str) -> None:
        self.client = client
        self.topic_arn = topic_arn

    def send(self, event: AlertEvent) -> None:
        kwargs = {
            "TopicArn": self.topic_arn,
            "Message": message(event).decode(),
            "Subject": subject(event),
            "MessageAttributes": message_attributes(event),
        }
        if self.topic_arn.endswith(".fifo"):
            kwargs["MessageGroupId"] = event.rule_id
            kwargs["MessageDeduplicationId"] = event.event_id.replace(".", "-")[:128]
        try:
            self.client.publish(**kwargs)
        except ClientError as exc:
            err = exc.response.get("Error", {})
            raise DeliveryError(f"SNS publish to {self.topic_arn}: {err.get('Code')}: {err.get('Message')}") from None
        except BotoCoreError as exc:
            raise DeliveryError(f"SNS publish to {self.topic_arn}: {exc}") from None
