# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""boto3 sessions and clients made from explicit keys, for the workstation modules and command lines.

Nothing here reads a profile or the shared credentials file, or changes the process's
environment: the keys given are the keys used. Every other client is amazon.aws's retrying
wrapper: a call made with ``aws_retry=True`` is retried on throttling with jittered backoff. The
client that sends an MFA code never retries (AWS accepts a code once).
"""

from __future__ import annotations

import os
import threading
from datetime import datetime, timezone
from typing import Optional

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper

# Throttling and AWS's transient errors (CloudTrail's ThrottlingException too, which AWSRetry's list lacks); never
# LimitExceeded (see gather.py).
THROTTLING_CODES = ["ThrottlingException"]
RETRY = AWSRetry.jittered_backoff(catch_extra_error_codes=THROTTLING_CODES)


class CallCounter:
    """Counts the HTTP requests that boto3 clients send (retries included), from any number of threads."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def watch(self, client):
        client.meta.events.register("before-send", self._count)
        return client

    def _count(self, **kwargs) -> None:
        self.add()

    def add(self, requests: int = 1) -> None:
        with self._lock:
            self.count += requests


class Sessions:
    """Makes boto3 sessions from explicit keys (never a profile), counting every request their clients send.

    ``Sessions(...)(key, secret, token, region).client("sts", once=True)`` gives a client that never retries:
    a request carrying a TOTP code must not be sent twice (AWS rejects a reused code).
    """

    def __init__(self, endpoint_url: Optional[str] = None, counter=None) -> None:
        self.endpoint_url = endpoint_url
        self.counter = counter

    def __call__(self, access_key: str, secret_key: str, token: Optional[str], region: Optional[str]):
        import boto3
        import botocore.session
        from botocore.configprovider import ConstantProvider

        # The keys are explicit: no profile is looked up, whatever AWS_PROFILE names (maybe the one being created),
        # and the process's environment is left as it is. Nor is the shared credentials file read: botocore would
        # parse all of it (only to know its profile names), for each session, which on a big file costs more than
        # the whole login (see bench/awsfiles_scale.py).
        core = botocore.session.Session()
        core.get_component("config_store").set_config_provider("profile", ConstantProvider(None))
        core.set_config_variable("credentials_file", os.devnull)  # not a regular file: botocore reads no profiles from it
        session = boto3.session.Session(aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                                        aws_session_token=token, region_name=region, botocore_session=core)
        return _Session(session, self)


class _Session:
    def __init__(self, session, sessions: Sessions) -> None:
        self._session = session
        self._sessions = sessions

    def client(self, service: str, once: bool = False):
        """A client whose calls retry when given ``aws_retry=True``; with ``once``, one that never sends a request twice."""
        from botocore.config import Config

        # total_max_attempts counts the first request: botocore's max_attempts of 1 still allowed one retry.
        config = Config(retries={"total_max_attempts": 1, "mode": "standard"}) if once else None
        client = self._session.client(service, endpoint_url=self._sessions.endpoint_url, config=config)
        if self._sessions.counter is not None:
            self._sessions.counter.watch(client)
        return client if once else RetryingBotoClientWrapper(client, RETRY)


def fast_timestamps(client):
    """The client, reading timestamps with datetime.fromisoformat instead of botocore's dateutil parser.

    IAM answers carry thousands of timestamps (every user, group, policy and version in
    GetAccountAuthorizationDetails); dateutil takes about 0.1 ms for each, fromisoformat a hundredth of that.
    The values are the same instants, in UTC; what fromisoformat cannot read (an epoch number) goes to botocore's
    parser. The parsers come from the botocore session's factory, so the session's other clients read timestamps
    this way too. A botocore without the factory's ``set_parser_defaults`` keeps its own parser.
    """
    from botocore.parsers import DEFAULT_TIMESTAMP_PARSER

    factory = getattr(getattr(client, "_endpoint", None), "_response_parser_factory", None)
    if not hasattr(factory, "set_parser_defaults"):
        return client

    def parse(value):
        try:
            when = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            return DEFAULT_TIMESTAMP_PARSER(value)
        return when if when.tzinfo else when.replace(tzinfo=timezone.utc)

    factory.set_parser_defaults(timestamp_parser=parse)
    return client


def warn(module, message: str) -> None:
    """Warn through the AnsibleModule that an AnsibleAWSModule wraps.

    amazon.aws 11's AnsibleAWSModule.warn also hands its warnings to exit_json as ``warnings``, which
    ansible-core 2.21 deprecates: every warning would come with a deprecation warning.
    """
    getattr(module, "_module", module).warn(message)
