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
import importlib.util
import json
import logging
import math
import random
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

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
  - Messages are untrusted input (anyone allowed to send to the queue writes them). A body is parsed with a size limit
    (1 MiB) and a nesting limit (32 levels, checked before the JSON parser, which recurses, sees it), and every field
    of the change is checked against what AWS sends - an IAM user name, a 12-digit account, the ARNs of AWS's
    partitions, the calls below, a CloudTrail event id and time; an account or partition that the event contradicts
    (its record's, its Region's, the caller's ARN) makes it bad too. What passes holds nothing Ansible could evaluate.
  - A bad message (unreadable, too big or deep, a field of the wrong type or value) is logged with why (never its
    contents) and deleted, or left in the queue for its dead-letter queue with O(bad_messages=leave). Messages that
    hold no IAM call that bears on MFA (another service or call, a failed call) are deleted and logged. No message
    ends the source.
  - Throttling, passing SQS faults and network errors are retried with jittered exponential backoff, without end;
    any other AWS error (no credentials, access denied, no such queue) ends the source with that error.
  - The IAM calls are those that give a way in (C(CreateUser), C(CreateLoginProfile), C(UpdateLoginProfile),
    C(CreateAccessKey), C(UpdateAccessKey)), take MFA away (C(DeactivateMFADevice), C(DeleteVirtualMFADevice)), set it
    up (C(EnableMFADevice)), put or take away a user's tag (C(TagUser), C(UntagUser)) or take away what makes keys need
    MFA (C(DetachUserPolicy), C(DeleteUserPolicy), C(RemoveUserFromGroup), C(DetachGroupPolicy), C(DeleteGroupPolicy),
    C(DeletePolicy), C(CreatePolicyVersion), C(SetDefaultPolicyVersion)).
  - >-
    Each event is C({"iam_change": {"action", "user", "account_id", "partition", "time", "event_id", "caller",
    "status", "serial", "group", "policy_arn", "tag_keys"}, "sqs": {"queue_url", "message_id", "receipt_handle"}}).
    C(user) is the IAM user the call is about (the caller when a call that gives a way in names no user), or null when
    the call names none (C(DeleteVirtualMFADevice), a group's or a policy's change). C(account_id) and C(partition) are
    the account and partition the call was made in. C(status) is the new status of C(UpdateAccessKey), C(serial) the
    MFA device of C(DeactivateMFADevice), C(DeleteVirtualMFADevice) and C(EnableMFADevice), C(group) the group of
    C(RemoveUserFromGroup), C(DetachGroupPolicy) and C(DeleteGroupPolicy), C(policy_arn) the managed policy of
    C(DeletePolicy), C(CreatePolicyVersion) and C(SetDefaultPolicyVersion), C(tag_keys) the keys C(TagUser) puts or
    C(UntagUser) takes away.
  - >-
    With O(batch_size) above 1, the events of the changes received together are emitted as one event,
    C({"iam_changes": [event, ...]}).
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
  batch_size:
    description:
      - >-
        Changes per event. V(1) (the default) emits one event per change. Above 1, the changes received together are
        emitted together, as one event C({"iam_changes": [event, ...]}) that lists the events V(1) would emit, in the
        order received - at most O(batch_size) of them, gathered for at most O(batch_seconds) after the first one came.
        One playbook run then handles them all (the rulebook C(awssec.mfa.mfa_guard) does).
    type: int
    default: 1
  batch_seconds:
    description: How long a batch gathers changes after its first one came (seconds; O(batch_size) above 1 only).
    type: float
    default: 2
  bad_messages:
    description: What becomes of a message that is not an IAM change as AWS sends it - V(delete) it (logged), or
      V(leave) it in the queue, where it comes back every O(visibility_timeout) until the queue's redrive policy moves
      it to the dead-letter queue (use only with one).
    type: str
    choices: [delete, leave]
    default: delete
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


def _load_events():
    """The collection's module_utils/iam_events.py, by its path: ansible-rulebook runs this file by its path, where the
    collection is not importable as ``ansible_collections``."""
    path = Path(__file__).resolve().parents[4] / "plugins" / "module_utils" / "iam_events.py"
    spec = importlib.util.spec_from_file_location("awssec_mfa_iam_events", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


iam_events = _load_events()
ACTIONS = iam_events.ACTIONS
iam_change = iam_events.iam_change
BadMessage = iam_events.BadMessage
# The source keeps its own short list of passing AWS errors, the one copy of a retry rule in the collection: ansible-rulebook
# loads this file by path, outside Ansible, where the module_utils' retries (Ansible's AWSRetry, clients.RETRY) cannot be
# imported.
RETRYABLE = ("Throttling", "ThrottlingException", "RequestThrottled", "ServiceUnavailable", "InternalError",
             "AWS.SimpleQueueService.ServiceUnavailable", "RequestLimitExceeded")
MAX_BACKOFF = 60.0
BAD_MESSAGES = ("delete", "leave")


def error_code(error: BaseException) -> Optional[str]:
    """The AWS error code of a botocore ClientError, or None. A copy of module_utils/errors.py's ``error_code``, on purpose:
    ansible-rulebook loads this file by its path, outside Ansible, where errors.py (which imports Ansible and amazon.aws)
    cannot be imported (iam_events.py, which this file loads by its path, imports neither)."""
    response = getattr(error, "response", None) or {}
    return response.get("Error", {}).get("Code")


def retryable(error: BaseException) -> bool:
    """Throttling, a passing AWS fault or the network: try again later (not missing credentials or a refusal)."""
    from botocore.exceptions import ConnectionError as NetworkError, HTTPClientError  # here: the documentation reads without botocore

    return error_code(error) in RETRYABLE or isinstance(error, (NetworkError, HTTPClientError))


def backoff(attempt: int) -> float:
    """Seconds to wait before retry ``attempt`` (1, 2 ...): full jitter, doubling from 1 s up to MAX_BACKOFF."""
    return random.uniform(0, min(MAX_BACKOFF, 2.0 ** (attempt - 1)))


# The source makes its own client instead of using the collection's one client factory (module_utils/clients.py's
# Sessions): ansible-rulebook loads this file by its path, where the collection is not importable as ``ansible_collections``
# and clients.py (which builds on amazon.aws's retries) cannot be loaded. It stays self-contained, retries (RETRYABLE) included.
def client(args: Dict[str, Any]):
    import boto3

    session = boto3.session.Session(profile_name=args.get("profile"), region_name=args.get("region"))
    return session.client("sqs", endpoint_url=args.get("endpoint_url"))


def read(message: Dict[str, Any]) -> Tuple[Optional[Dict[str, Any]], Optional[str]]:
    """(the IAM change a received message records or None, why the message is bad or None). Never raises: no message
    can end the source."""
    try:
        return iam_change(message.get("Body")), None
    except BadMessage as e:
        return None, str(e)
    except Exception as e:  # pylint: disable=broad-exception-caught
        return None, f"it could not be read ({type(e).__name__})"


def fatal(error: BaseException) -> bool:
    """An AWS error that waiting does not mend: no credentials, a refusal, no such queue. The rest is waited out."""
    from botocore.exceptions import BotoCoreError, ClientError  # here: the documentation reads without botocore

    return isinstance(error, (BotoCoreError, ClientError)) and not retryable(error)


async def _take(sqs, queue_url: str, message: Dict[str, Any], args: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The event of the message's change, or None when the message is dropped: deleted, unless it is bad and bad
    messages are left for the dead-letter queue. A change's message is left for its handler."""
    change, bad = read(message)
    if change is not None:
        return {"iam_change": change, "sqs": {"queue_url": queue_url, "message_id": message["MessageId"], "receipt_handle": message["ReceiptHandle"]}}
    if bad:
        kept = args["bad_messages"] == "leave"
        LOG.warning("message %s is not an IAM change as AWS sends it: %s; %s", message["MessageId"], bad,
                    "left in the queue for its dead-letter queue" if kept else "deleted")
        if kept:
            return None
    else:
        LOG.info("message %s records no IAM change that bears on MFA: deleted", message["MessageId"])
    await asyncio.to_thread(sqs.delete_message, QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return None


async def _emit(queue: asyncio.Queue, sqs, events: List[Dict[str, Any]], args: Dict[str, Any]) -> None:
    """Put the events on the rulebook's queue (waiting while it is full): each alone, or together as one batch; then,
    with delete_on_receipt, delete their messages."""
    for item in events if args["batch_size"] == 1 else [{"iam_changes": events}]:
        await queue.put(item)
    if args["delete_on_receipt"]:
        for event in events:
            await asyncio.to_thread(sqs.delete_message, QueueUrl=event["sqs"]["queue_url"], ReceiptHandle=event["sqs"]["receipt_handle"])


def settings(args: Dict[str, Any]) -> Dict[str, Any]:
    """The source's arguments with their defaults, checked: ValueError naming the one at fault."""
    args = dict(args, delete_on_receipt=bool(args.get("delete_on_receipt", False)), bad_messages=args.get("bad_messages") or "delete",
                batch_size=int(1 if args.get("batch_size") in (None, "") else args["batch_size"]),
                batch_seconds=float(2 if args.get("batch_seconds") in (None, "") else args["batch_seconds"]))
    if args["bad_messages"] not in BAD_MESSAGES:
        raise ValueError(f"bad_messages must be one of {', '.join(BAD_MESSAGES)}, not {args['bad_messages']!r}")
    if not 1 <= args["batch_size"] <= iam_events.MAX_BATCH:
        raise ValueError(f"batch_size must be 1 to {iam_events.MAX_BATCH}, not {args['batch_size']}")
    if not 0 <= args["batch_seconds"] <= 60:
        raise ValueError(f"batch_seconds must be 0 to 60, not {args['batch_seconds']}")
    return args


async def main(queue: asyncio.Queue, args: Dict[str, Any]) -> None:
    """Emit the queue's IAM changes, one event each or in batches, until cancelled. Only the fatal AWS errors end it."""
    args = settings(args)
    queue_url, batch_size = args["queue_url"], args["batch_size"]
    sqs = client(args)
    receive = {"QueueUrl": queue_url, "WaitTimeSeconds": int(args.get("wait_time_seconds", 20)),
               "VisibilityTimeout": int(args.get("visibility_timeout", 300)), "MaxNumberOfMessages": int(args.get("max_messages", 10))}
    loop = asyncio.get_running_loop()
    failures, pending, closes = 0, [], 0.0
    while True:
        # A batch that has begun waits for more only until it closes (a receive returns as soon as messages come).
        wait = receive["WaitTimeSeconds"] if not pending else max(0, min(receive["WaitTimeSeconds"], math.ceil(closes - loop.time())))
        room = receive["MaxNumberOfMessages"] if batch_size == 1 else min(receive["MaxNumberOfMessages"], batch_size - len(pending))
        request = dict(receive)
        request.update(WaitTimeSeconds=wait, MaxNumberOfMessages=room)
        try:
            messages = (await asyncio.to_thread(sqs.receive_message, **request)).get("Messages", [])
        except Exception as error:  # pylint: disable=broad-exception-caught
            if not retryable(error):
                raise
            failures += 1
            wait = backoff(failures)
            LOG.warning("%s; trying again in %.1f s", error, wait)
            await asyncio.sleep(wait)
            continue
        failures = 0
        for message in messages:
            try:
                event = await _take(sqs, queue_url, message, args)
            except Exception as error:  # pylint: disable=broad-exception-caught
                if fatal(error):
                    raise
                LOG.warning("message %s: %s; it stays in the queue and comes back", message.get("MessageId"), error)
                continue
            if event is not None:
                if not pending:
                    closes = loop.time() + args["batch_seconds"]
                pending.append(event)
        if pending and (batch_size == 1 or len(pending) >= batch_size or loop.time() >= closes):
            events, pending = pending, []
            try:
                await _emit(queue, sqs, events, args)
            except Exception as error:  # pylint: disable=broad-exception-caught
                if fatal(error):
                    raise
                LOG.warning("%s; the messages stay in the queue and come back", error)


if __name__ == "__main__":
    import sys

    class PrintQueue(asyncio.Queue):
        """Print each event instead of passing it to a rulebook."""

        async def put(self, item) -> None:
            print(json.dumps(item))

    asyncio.run(main(PrintQueue(), {"queue_url": sys.argv[1]}))
