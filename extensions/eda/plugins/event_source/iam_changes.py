# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""An ansible-rulebook event source: IAM changes that bear on MFA, read from an SQS queue.

EventBridge delivers IAM's CloudTrail records ("AWS API Call via CloudTrail", source ``aws.iam``) to the queue; each
message that records a successful IAM call becomes one event, ``{"iam_change": {...}, "sqs": {...}}``. The message is
not deleted when the event is emitted: whoever handles the event deletes it (``sqs.receipt_handle``) once done, so a
rulebook stopped mid-batch loses nothing - SQS delivers the message again after ``visibility_timeout`` seconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from typing import Any, Dict, Optional

DOCUMENTATION = r"""
---
short_description: IAM changes that bear on MFA, from an SQS queue fed by EventBridge.
description:
  - Reads the CloudTrail records of IAM calls that EventBridge delivers to an SQS queue (long polling), and emits one
    event per successful IAM call, with the user it is about and the action.
  - A message is not deleted when its event is emitted. Whoever handles the event deletes it, once done, with the
    receipt handle in C(sqs.receipt_handle) (SQS DeleteMessage); a message not deleted within O(visibility_timeout)
    seconds is delivered again, so an event is handled at least once, also when the rulebook stops mid-batch, and
    its handling must be safe to repeat. Set O(delete_on_receipt=true) to delete each message as soon as its event
    is emitted instead (at most once).
  - Messages that hold no IAM call (or a failed one) are deleted and logged; so are messages that are not JSON.
  - Throttling, passing SQS faults and network errors are retried with jittered exponential backoff, without end;
    any other error (no credentials, access denied, no such queue) ends the source with that error.
  - Each event is C({"iam_change": {"action", "user", "account_id", "time", "event_id", "caller", "status",
    "serial"}, "sqs": {"queue_url", "message_id", "receipt_handle"}}). C(user) is the IAM user the call is about
    (the caller when the call names no user), or null when the call names none (C(DeleteVirtualMFADevice)).
    C(status) is the new status of C(UpdateAccessKey), C(serial) the MFA device of C(DeactivateMFADevice) and
    C(DeleteVirtualMFADevice).
options:
  queue_url:
    description: The SQS queue's URL.
    type: str
    required: true
  region:
    description: The queue's region (default from the environment or the AWS config).
    type: str
  endpoint_url:
    description: An SQS endpoint other than AWS's.
    type: str
  profile:
    description: The AWS profile to read the queue with.
    type: str
  wait_time_seconds:
    description: How long one receive waits for a message (long polling, at most 20).
    type: int
    default: 20
  visibility_timeout:
    description: Seconds a received message stays hidden from other receives; a message not deleted by then is
      delivered again. Longer than the handling playbook takes.
    type: int
    default: 300
  max_messages:
    description: Messages per receive (1 to 10).
    type: int
    default: 10
  delete_on_receipt:
    description: Delete each message as soon as its event is emitted (at most once) instead of leaving it to the
      handler (at least once).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Guard MFA on IAM changes
  hosts: localhost
  sources:
    - awssec.mfa.iam_changes:
        queue_url: https://sqs.us-east-1.amazonaws.com/123456789012/iam-changes
        region: us-east-1
  rules:
    - name: A console password was given
      condition: event.iam_change.action == "CreateLoginProfile"
      action:
        run_playbook:
          name: check_user.yml  # re-reads event.iam_change.user, then deletes event.sqs.receipt_handle's message
"""

LOG = logging.getLogger("awssec.mfa.iam_changes")
# The IAM calls after which a user may be without MFA: a new way in (password, key, the user itself) or MFA gone.
ACTIONS = ("CreateUser", "CreateLoginProfile", "UpdateLoginProfile", "CreateAccessKey", "UpdateAccessKey",
           "DeactivateMFADevice", "DeleteVirtualMFADevice")
# Where each call's answer names the user (the request may leave the user out: the caller is meant then).
_ANSWER_USER = {"CreateUser": "user", "CreateLoginProfile": "loginProfile", "CreateAccessKey": "accessKey"}
RETRYABLE = ("Throttling", "ThrottlingException", "RequestThrottled", "ServiceUnavailable", "InternalError",
             "AWS.SimpleQueueService.ServiceUnavailable", "RequestLimitExceeded")
MAX_BACKOFF = 60.0


def iam_change(body: str) -> Optional[Dict[str, Any]]:
    """The IAM change an SQS message body records, or None when it records none (not an IAM call, a failed call, a
    call that does not bear on MFA). The body is the EventBridge event, or an SNS notification that wraps it."""
    try:
        event = json.loads(body)
    except ValueError:
        return None
    if isinstance(event, dict) and event.get("Type") == "Notification" and isinstance(event.get("Message"), str):
        return iam_change(event["Message"])
    detail = event.get("detail") if isinstance(event, dict) else None
    if not isinstance(detail, dict) or detail.get("eventSource") != "iam.amazonaws.com" or detail.get("errorCode"):
        return None
    action = detail.get("eventName")
    if action not in ACTIONS:
        return None
    request = detail.get("requestParameters") or {}
    answer = (detail.get("responseElements") or {}).get(_ANSWER_USER.get(action, ""), {}) or {}
    caller = detail.get("userIdentity") or {}
    user = request.get("userName") or answer.get("userName")
    if not user and action != "DeleteVirtualMFADevice" and caller.get("type") == "IAMUser":
        user = caller.get("userName")  # the call named no user: IAM acted on the caller
    return {
        "action": action,
        "user": user,
        "account_id": detail.get("recipientAccountId") or event.get("account"),
        "time": detail.get("eventTime") or event.get("time"),
        "event_id": detail.get("eventID"),
        "caller": caller.get("arn"),
        "status": request.get("status") if action == "UpdateAccessKey" else None,
        "serial": request.get("serialNumber"),
    }


def error_code(error: BaseException) -> Optional[str]:
    response = getattr(error, "response", None) or {}
    return response.get("Error", {}).get("Code")


def retryable(error: BaseException) -> bool:
    """Throttling, a passing AWS fault or the network: try again later (not missing credentials or a refusal)."""
    from botocore.exceptions import ConnectionError as NetworkError, HTTPClientError  # here: the documentation reads without botocore

    return error_code(error) in RETRYABLE or isinstance(error, (NetworkError, HTTPClientError))


def backoff(attempt: int) -> float:
    """Seconds to wait before retry ``attempt`` (1, 2 ...): full jitter, doubling from 1 s up to MAX_BACKOFF."""
    return random.uniform(0, min(MAX_BACKOFF, 2.0 ** (attempt - 1)))


def client(args: Dict[str, Any]):
    import boto3

    session = boto3.session.Session(profile_name=args.get("profile"), region_name=args.get("region"))
    return session.client("sqs", endpoint_url=args.get("endpoint_url"))


async def main(queue: asyncio.Queue, args: Dict[str, Any]) -> None:
    """Emit the queue's IAM changes, one event each, until cancelled."""
    queue_url = args["queue_url"]
    sqs = client(args)
    delete_on_receipt = bool(args.get("delete_on_receipt", False))
    receive = {"QueueUrl": queue_url, "WaitTimeSeconds": int(args.get("wait_time_seconds", 20)),
               "VisibilityTimeout": int(args.get("visibility_timeout", 300)), "MaxNumberOfMessages": int(args.get("max_messages", 10))}
    failures = 0
    while True:
        try:
            messages = (await asyncio.to_thread(sqs.receive_message, **receive)).get("Messages", [])
            for message in messages:
                change = iam_change(message.get("Body", ""))
                if change is None:
                    LOG.info("message %s records no IAM change that bears on MFA: deleted", message["MessageId"])
                else:
                    await queue.put({"iam_change": change,
                                     "sqs": {"queue_url": queue_url, "message_id": message["MessageId"], "receipt_handle": message["ReceiptHandle"]}})
                if change is None or delete_on_receipt:
                    await asyncio.to_thread(sqs.delete_message, QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            failures = 0
        except Exception as error:  # pylint: disable=broad-exception-caught
            if not retryable(error):
                raise
            failures += 1
            wait = backoff(failures)
            LOG.warning("%s; trying again in %.1f s", error, wait)
            await asyncio.sleep(wait)


if __name__ == "__main__":
    import sys

    class PrintQueue(asyncio.Queue):
        """Print each event instead of passing it to a rulebook."""

        async def put(self, item) -> None:
            print(json.dumps(item))

    asyncio.run(main(PrintQueue(), {"queue_url": sys.argv[1]}))
