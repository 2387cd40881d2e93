# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""AWS errors, handled once: their types, what "gone" means, and their one text.

``AWSError`` says what failed (``message``: "Failed to get user bob") and keeps what AWS or the SDK said as its cause
(``exception``), so that amazon.aws's ``fail_json_aws_error`` shows the error code and the request id. ``aws_call``
runs one AWS call and raises it; a call that names what IAM does not have (NoSuchEntity) raises ``Gone``, and
``unless_gone`` answers None for it instead. That is amazon.aws's ``IAMErrorHandler`` rule (``list_error_handler``):
its decorators take a fixed description, where ours name the user or the policy, and do not catch the
``ResponseParserError`` of an endpoint that answers a web page.

The event source (extensions/eda/plugins/event_source/iam_changes.py) keeps its own ``error_code``: ansible-rulebook
loads it by path, where this file cannot be imported.
"""

from __future__ import annotations

from typing import Callable, Dict, Optional

try:
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError
except ImportError:
    pass  # AnsibleAWSModule reports a missing botocore

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError

GONE = ("NoSuchEntity",)  # IAM's answer for a user, login profile, policy ... that does not exist


class AWSError(AnsibleAWSError):
    """A failure to read or change AWS, with the message a user needs; ``exception``, when AWS or the SDK failed, is
    its cause."""

    @property
    def code(self) -> Optional[str]:
        """The AWS error code of the cause (None: no AWS answer, such as a network failure)."""
        return error_code(self.exception)


class Gone(AWSError):
    """What the call names does not exist (NoSuchEntity): deleted meanwhile, or never there."""


def aws_call(what: str, function: Callable, *args, **kwargs):
    """Run an AWS call; SDK errors (an answer botocore cannot parse included) become AWSError, or Gone, naming ``what``
    was being done."""
    try:
        return function(*args, **kwargs)
    except (BotoCoreError, ClientError, ResponseParserError) as e:
        raise (Gone if error_code(e) in GONE else AWSError)(message=f"Failed to {what}", exception=e) from e


def unless_gone(what: str, function: Callable, *args, **kwargs):
    """``aws_call``, or None when what it reads does not exist (Gone)."""
    try:
        return aws_call(what, function, *args, **kwargs)
    except Gone:
        return None


def error_code(exception) -> Optional[str]:
    """The AWS error code of a botocore ClientError, or None for anything else."""
    response = getattr(exception, "response", None) or {}
    return response.get("Error", {}).get("Code")


def error_text(e: BaseException) -> str:
    """What failed and why, once: an AWSError's message and its cause's ``error_reason``."""
    message, cause = getattr(e, "message", None), getattr(e, "exception", None)
    if not isinstance(e, AnsibleAWSError) or cause is None:
        return error_reason(e) if message is None else str(message)
    return f"{message}: {error_reason(cause)}"


def error_reason(e: BaseException) -> str:
    """Why an AWS call failed: ``Code: Message`` of AWS's answer; else the SDK's text (no connection, no credentials)."""
    error = (getattr(e, "response", None) or {}).get("Error") or {}
    if error.get("Code"):
        return answer_reason(error)
    if isinstance(e, ResponseParserError):  # its text quotes the whole answer (an HTML page, from an emulator that lacks the call)
        return "the answer could not be parsed as AWS's (an endpoint that does not serve this call?): " + str(e).split(":", 1)[0]
    return str(e) or type(e).__name__


def answer_reason(error: Dict) -> str:
    """``Code: Message`` of an AWS error answer: a ClientError's ``response["Error"]``, or an entry of a batch call's
    ``Failed`` list (SNS PublishBatch)."""
    message = str(error.get("Message") or "no message")
    if message.lstrip().startswith("<"):  # a web page, not an AWS error (an emulator that lacks the call)
        message = "an HTML page, not an AWS answer (an endpoint that does not serve this call?)"
    return f"{error.get('Code')}: {message}"


def failure(e: AWSError) -> Dict:
    """What a module fails with for ``e``: ``msg`` its ``error_text``, and what amazon.aws's ``fail_json_aws`` adds from
    AWS's answer, the error (``error.code``) and the request (``response_metadata.request_id``)."""
    response = getattr(e.exception, "response", None)
    return dict(camel_dict_to_snake_dict(response) if isinstance(response, dict) else {}, msg=error_text(e))
