# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Notices to IAM users through SNS: each message carries its user in a message attribute, published ten at a time.

A subscription with the filter policy ``{"iam_user": ["NAME"]}`` receives user NAME's messages only. PublishBatch
takes at most ten messages of at most 256 KiB together, and answers for each message: one batch can partly fail.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass  # AnsibleAWSModule reports a missing botocore

from ansible_collections.awssec.mfa.plugins.module_utils.clients import RETRY
from ansible_collections.awssec.mfa.plugins.module_utils.errors import answer_reason, error_reason

MAX_ENTRIES = 10  # PublishBatch's most messages in one request
MAX_BYTES = 262144  # and most bytes, bodies and attributes of all its messages together


@RETRY
def _topics(client) -> List[Dict]:
    return client.get_paginator("list_topics").paginate().build_full_result().get("Topics", [])


def topic_arns(client, topics: List[str]) -> Dict[str, Optional[str]]:
    """Each topic given by ARN or by name, with its ARN (None when the account and region have no such topic).
    sns:ListTopics is read once, and only when a name is given."""
    names = {t for t in topics if not t.startswith("arn:")}
    by_name = {t["TopicArn"].rsplit(":", 1)[-1]: t["TopicArn"] for t in _topics(client)} if names else {}
    return {t: (t if t not in names else by_name.get(t)) for t in topics}


def size(notice: Dict, attribute: str) -> int:
    """What a notice weighs against MAX_BYTES: its body, subject and message attribute, in UTF-8 bytes."""
    parts = (notice["body"], notice.get("subject") or "", attribute, "String", notice["user"])
    return sum(len(part.encode("utf-8")) for part in parts)


def batches(notices: List[Dict], attribute: str, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> List[List[int]]:
    """The notices' indexes in PublishBatch requests: per topic (``topic_arn``), in order, each request within both limits."""
    open_batches: Dict[str, List[int]] = {}
    weights: Dict[str, int] = {}
    done: List[List[int]] = []
    for index, notice in enumerate(notices):
        topic, weight = notice["topic_arn"], size(notice, attribute)
        batch = open_batches.get(topic)
        if batch is not None and (len(batch) == max_entries or weights[topic] + weight > max_bytes):
            done.append(batch)
            batch = None
        if batch is None:
            batch = open_batches[topic] = []
            weights[topic] = 0
        batch.append(index)
        weights[topic] += weight
    return done + list(open_batches.values())


def entry(index: int, notice: Dict, attribute: str) -> Dict:
    """One PublishBatch request entry; its Id is the notice's index."""
    item = {"Id": str(index), "Message": notice["body"],
            "MessageAttributes": {attribute: {"DataType": "String", "StringValue": notice["user"]}}}
    if notice.get("subject"):
        item["Subject"] = notice["subject"]
    return item


def publish(client, notices: List[Dict], attribute: str):
    """Publish every notice (``user``, ``topic_arn``, ``body``, ``subject``); one batch failing does not stop the others.

    Returns ``(published, failed)`` in the notices' order: ``{user, topic_arn, message_id}`` and ``{user, topic_arn, reason}``.
    ``client`` is a retrying client (a throttled request is sent again whole).
    """
    outcome: Dict[int, Dict] = {}
    for batch in batches(notices, attribute):
        topic = notices[batch[0]]["topic_arn"]
        try:
            answer = client.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[entry(i, notices[i], attribute) for i in batch],
                                          aws_retry=True)
        except (BotoCoreError, ClientError) as e:
            outcome.update((i, {"reason": error_reason(e)}) for i in batch)  # the whole request failed
            continue
        for ok in answer.get("Successful", []):
            outcome[int(ok["Id"])] = {"message_id": ok["MessageId"]}
        for bad in answer.get("Failed", []):
            outcome[int(bad["Id"])] = {"reason": answer_reason(bad)}
    published, failed = [], []
    for index, notice in enumerate(notices):
        result = outcome.get(index, {"reason": "SNS did not answer for this message"})
        (published if "message_id" in result else failed).append({"user": notice["user"], "topic_arn": notice["topic_arn"], **result})
    return published, failed


def notices_from_params(params: Dict) -> Tuple[List[Dict], bool]:
    """sns_user_notice's notices (``user``, ``body``, ``subject``, ``topic``: its own, else the module's) and whether
    there is one (``user``) rather than a list (``notices``). ValueError names the notices without a topic."""
    one = params["notices"] is None
    given = [{"user": params["user"], "body": params["body"], "subject": params["subject"], "topic": None}] if one else params["notices"]
    notices = [dict(n, topic=n["topic"] or params["topic"]) for n in given]
    untopical = [n["user"] for n in notices if not n["topic"]]
    if untopical:
        raise ValueError(f"topic: no topic for the notice of {', '.join(untopical)} (give topic, or the notice's own)")
    return notices, one


def send(client, notices: List[Dict], attribute: str, one: bool, check_mode: bool) -> Tuple[Dict, Optional[str]]:
    """Publish the notices (check mode: only find their topics): sns_user_notice's result, and the message it fails
    with (None: it does not). Raises BotoCoreError or ClientError when the topics cannot be listed, before publishing."""
    arns = topic_arns(client, sorted({n["topic"] for n in notices}))
    missing = sorted(topic for topic, arn in arns.items() if arn is None)
    if missing:
        return {"changed": False}, f"topic: no SNS topic named {', '.join(missing)} in this account and region"
    notices = [dict(n, topic_arn=arns[n["topic"]]) for n in notices]
    if check_mode:
        published, failed = [{"user": n["user"], "topic_arn": n["topic_arn"]} for n in notices], []
    else:
        published, failed = publish(client, notices, attribute)
    result = dict(changed=bool(published), published=published)
    if one:
        result["topic_arn"] = notices[0]["topic_arn"]
        if published and "message_id" in published[0]:  # none in check mode
            result["message_id"] = published[0]["message_id"]
    if not failed:
        return result, None
    reasons = "; ".join(f"{f['user']} ({f['reason']})" for f in failed)
    return dict(result, failed=failed), f"Failed to publish the notices for {reasons}"
