# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""AWS errors: ``IAMError`` (what failed, with the SDK's error as its cause), their text, and ``aws_call``, which runs an
AWS call and turns the SDK's errors into IAMError."""

from __future__ import annotations

from typing import Callable, Optional

try:
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError
except ImportError:
    pass  # AnsibleAWSModule reports a missing botocore

from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError


class IAMError(AnsibleAWSError):
    """A failure to read or change IAM, with the message a user needs."""


def error_text(e: BaseException) -> str:
    """What failed and why, once: an IAMError's message and its cause (the AWS error code and message, or the SDK's)."""
    message, cause = getattr(e, "message", None), getattr(e, "exception", None)
    if not isinstance(e, AnsibleAWSError) or cause is None:
        return _cause(e) if message is None else str(message)
    return f"{message}: {_cause(cause)}"


def _cause(e: BaseException) -> str:
    error = (getattr(e, "response", None) or {}).get("Error") or {}
    if error.get("Code"):
        message = str(error.get("Message") or "no message")
        if message.lstrip().startswith("<"):  # a web page, not an AWS error (an emulator that lacks the call)
            message = "an HTML page, not an AWS answer (an endpoint that does not serve this call?)"
        return f"{error['Code']}: {message}"
    if isinstance(e, ResponseParserError):  # its text quotes the whole answer (an HTML page, from an emulator that lacks the call)
        return "the answer could not be parsed as AWS's (an endpoint that does not serve this call?): " + str(e).split(":", 1)[0]
    return str(e) or type(e).__name__


def error_code(exception) -> Optional[str]:
    """The AWS error code of a botocore ClientError, or None for anything else."""
    response = getattr(exception, "response", None) or {}
    return response.get("Error", {}).get("Code")


def aws_call(what: str, function: Callable, *args, **kwargs):
    """Run an AWS call; turn SDK errors (an answer botocore cannot parse included) into IAMError naming ``what`` was being done."""
    try:
        return function(*args, **kwargs)
    except (BotoCoreError, ClientError, ResponseParserError) as e:
        raise IAMError(message=f"Failed to {what}", exception=e) from e
