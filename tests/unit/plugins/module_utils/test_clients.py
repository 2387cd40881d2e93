# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one client factory (module_utils/clients.py's Sessions): endpoint, region and credentials, whichever way a client is asked for.

No request is sent: a client's endpoint, region and keys are known when it is made.
"""

import boto3
import pytest
from botocore.exceptions import ProfileNotFound

from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from ansible_collections.awssec.mfa.plugins.module_utils.clients import RETRY, CallCounter, Sessions, retrying

GIVEN, GLOBAL, STS = "http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"


def made(sessions, service, way):
    """``service``'s client made ``way``: for the run's credentials (the Python API, each account of the fan-out) or
    from explicit keys (the workstation)."""
    if way == "run":
        return sessions.client(service)
    return sessions("AKIAGIVEN", "secret", None, "eu-west-1").client(service)


@pytest.mark.parametrize("way", ["run", "keys"])
def test_the_endpoint_given_wins_over_the_environment_and_otherwise_botocore_chooses(aws_env, monkeypatch, way):
    """As the README says: the endpoint_url option (--endpoint-url) wins over AWS_ENDPOINT_URL; without it, botocore's own
    order holds (a service's variable before AWS_ENDPOINT_URL)."""
    monkeypatch.delenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", GLOBAL)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", STS)
    assert made(Sessions(GIVEN), "sts", way).meta.endpoint_url == GIVEN
    assert made(Sessions(GIVEN), "iam", way).meta.endpoint_url == GIVEN
    assert made(Sessions(), "sts", way).meta.endpoint_url == STS
    assert made(Sessions(), "iam", way).meta.endpoint_url == GLOBAL


def test_the_region_given_else_the_profiles_and_the_partition_follows_it(aws_env, monkeypatch):
    dummy, config = aws_env
    config.write_text("[profile gov]\nregion = us-gov-west-1\n[profile china]\nregion = cn-north-1\n")
    monkeypatch.delenv("AWS_DEFAULT_REGION")  # it would win over the profile's
    gov = Sessions(profile="gov")
    assert gov.region_name() == "us-gov-west-1" and gov.client("sts").meta.region_name == "us-gov-west-1"
    assert Sessions(profile="china").client("sts").meta.endpoint_url.endswith(".amazonaws.com.cn")
    assert Sessions(region="eu-west-1", profile="gov").region_name() == "eu-west-1"
    assert Sessions(region="eu-west-1", profile="gov").client("sts").meta.region_name == "eu-west-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert Sessions().region_name() == "eu-central-1"
    with pytest.raises(ProfileNotFound):  # at once, whatever the region: nothing is read with another profile's keys
        Sessions(region="eu-west-1", profile="nowhere").region_name()


def test_keys_win_over_the_profile_and_each_request_is_counted(aws_env):
    dummy, config = aws_env
    config.write_text("[profile audit]\naws_access_key_id = AKIAPROFILE\naws_secret_access_key = s\n")
    counter = CallCounter()
    sessions = Sessions(counter=counter, profile="audit", keys={"aws_access_key_id": "AKIARUN", "aws_secret_access_key": "s"})
    role = {"aws_access_key_id": "ASIAROLE", "aws_secret_access_key": "s", "aws_session_token": "t"}

    def key(client):
        return client._request_signer._credentials.access_key  # pylint: disable=protected-access
    assert key(sessions.client("sts", keys=role)) == "ASIAROLE"  # an assumed role's keys
    assert key(sessions.client("sts", profile="audit")) == "AKIAPROFILE"  # an account's profile
    assert key(Sessions(keys={"aws_access_key_id": "AKIARUN", "aws_secret_access_key": "s"}).client("sts")) == "AKIARUN"  # the run's keys
    explicit = sessions("AKIAGIVEN", "secret", None, "eu-west-1")
    assert isinstance(explicit.client("iam"), RetryingBotoClientWrapper) and not isinstance(explicit.client("sts", once=True), RetryingBotoClientWrapper)
    client = sessions.client("sts")
    assert isinstance(client, RetryingBotoClientWrapper)  # the run's clients retry too, when a call says aws_retry=True
    client.meta.events.emit("before-send.sts.GetCallerIdentity", request=None)
    assert counter.count == 1


def test_retrying_wraps_a_raw_client_and_leaves_a_retrying_one_as_it_is():
    raw = boto3.client("sts", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    wrapped = retrying(raw)
    assert isinstance(wrapped, RetryingBotoClientWrapper) and wrapped.client is raw and wrapped.retry is RETRY
    assert retrying(wrapped) is wrapped and retrying(wrapped, retry=lambda function: function) is wrapped
