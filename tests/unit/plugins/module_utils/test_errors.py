# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""AWS errors, handled once (module_utils/errors.py): one type with its cause, one rule for "gone", one text."""

import pytest
from botocore.exceptions import ClientError, NoCredentialsError
from botocore.parsers import ResponseParserError

from ansible_collections.awssec.mfa.plugins.module_utils.errors import (
    AWSError,
    Gone,
    answer_reason,
    aws_call,
    error_reason,
    error_text,
    failure,
    unless_gone,
)


def _client_error(code, message="no", request_id="REQ-1"):
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"RequestId": request_id, "HTTPStatusCode": 400}},
                       "GetUser")


def _raise(error):
    def call(*args, **kwargs):
        raise error
    return call


def test_an_aws_call_that_fails_says_what_was_being_done_and_keeps_the_cause():
    cause = _client_error("AccessDenied", "not authorized")
    with pytest.raises(AWSError) as caught:
        aws_call("get user bob", _raise(cause))
    assert caught.value.message == "Failed to get user bob" and caught.value.exception is cause and caught.value.__cause__ is cause
    assert caught.value.code == "AccessDenied" and not isinstance(caught.value, Gone)
    assert error_text(caught.value) == "Failed to get user bob: AccessDenied: not authorized"


def test_no_such_entity_is_gone_and_unless_gone_answers_none():
    with pytest.raises(Gone) as caught:
        aws_call("get user bob", _raise(_client_error("NoSuchEntity")))
    assert isinstance(caught.value, AWSError) and caught.value.code == "NoSuchEntity"
    assert unless_gone("get user bob", _raise(_client_error("NoSuchEntity"))) is None
    assert unless_gone("get user bob", lambda name: {"UserName": name}, "bob") == {"UserName": "bob"}
    with pytest.raises(AWSError, match="Failed to get user bob"):
        unless_gone("get user bob", _raise(_client_error("AccessDenied")))


@pytest.mark.parametrize("error, expected", [
    (_client_error("Throttling", "Rate exceeded"), "Throttling: Rate exceeded"),
    (_client_error("InternalFailure", ""), "InternalFailure: no message"),
    (_client_error("InternalFailure", "<html><body>Not found</body></html>"),
     "InternalFailure: an HTML page, not an AWS answer (an endpoint that does not serve this call?)"),
    (NoCredentialsError(), "Unable to locate credentials"),
    (ResponseParserError("Unable to parse response (syntax error), invalid XML received: <html>"),
     "the answer could not be parsed as AWS's (an endpoint that does not serve this call?): Unable to parse response (syntax error), "
     "invalid XML received"),
])
def test_one_text_for_an_aws_error(error, expected):
    assert error_reason(error) == expected
    assert error_text(AWSError(message="Failed to list users", exception=error)) == f"Failed to list users: {expected}"


def test_a_batch_entry_reads_as_an_error_answer():
    assert answer_reason({"Id": "0", "Code": "InvalidParameter", "Message": "bad", "SenderFault": True}) == "InvalidParameter: bad"


def test_a_refusal_without_an_aws_answer_is_its_message():
    refusal = AWSError(message="A policy named RequireMFA exists at another path")
    assert error_text(refusal) == "A policy named RequireMFA exists at another path" and refusal.code is None
    assert failure(refusal) == {"msg": "A policy named RequireMFA exists at another path"}


def test_a_module_failure_carries_the_aws_error_and_the_request_id():
    failed = failure(AWSError(message="Could not list the Organization's accounts", exception=_client_error("AccessDenied", "denied", "REQ-42")))
    assert failed["msg"] == "Could not list the Organization's accounts: AccessDenied: denied"
    assert failed["error"] == {"code": "AccessDenied", "message": "denied"} and failed["response_metadata"]["request_id"] == "REQ-42"
