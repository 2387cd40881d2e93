# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The collection's one way to make boto3 clients (amazon.aws's ``module.client`` aside: a module's own connection).

``Sessions`` makes them from explicit keys for the workstation (never a profile), and from a profile, keys or the usual
AWS configuration for the command lines, the Python API and each account of the org fan-out (an assumed role's keys, a
profile, the run's credentials): the same region, endpoint, TLS, retry and counting rules for all.

One retry style: a call made with ``aws_retry=True`` on a client that ``retrying`` wrapped (amazon.aws's
``RetryingBotoClientWrapper``, as ``module.client(service, retry_decorator=RETRY)`` makes it) is retried on throttling
with jittered backoff. Paginators alone are retried around the whole read (calls.paginate). The client that sends an
MFA code never retries (AWS accepts a code once).
"""

from __future__ import annotations

import os
import threading
from datetime import datetime, timezone
from typing import Dict, Optional

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper

# Throttling and AWS's transient errors (CloudTrail's ThrottlingException too, which AWSRetry's list lacks); never
# LimitExceeded (see credential_report.py: only the report generation retries it).
THROTTLING_CODES = ["ThrottlingException"]
RETRY = AWSRetry.jittered_backoff(catch_extra_error_codes=THROTTLING_CODES)
# botocore's retries of a request that must never be sent twice: total_max_attempts counts the first request (botocore's
# max_attempts of 1 still allowed one retry).
SEND_ONCE = {"total_max_attempts": 1, "mode": "standard"}


def retrying(client, retry=RETRY):
    """``client``, its calls made with ``aws_retry=True`` retried by ``retry``; a client that already retries (a
    RetryingBotoClientWrapper) as it is."""
    return client if isinstance(client, RetryingBotoClientWrapper) else RetryingBotoClientWrapper(client, retry)


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
    """Makes boto3 sessions and clients, counting every request their clients send when given a ``counter``.

    Every client gets ``endpoint_url`` when given (it wins); else the one botocore is configured with
    (``AWS_ENDPOINT_URL_<SERVICE>`` before ``AWS_ENDPOINT_URL``, the profile's settings), else AWS's for its region. Its
    region is ``region`` when given, else its session's (the profile's, the environment's); the partition follows from the
    region. ``config`` (botocore settings) and ``verify`` (TLS) apply to all.

    ``Sessions(...)(key, secret, token, region)`` is a session of explicit keys, never a profile; its
    ``.client("sts", once=True)`` never retries: a request carrying a TOTP code must not be sent twice (AWS rejects a
    reused code). ``Sessions(...).client(service, profile, keys)`` is a client of ``profile``, ``keys`` or the run's own
    ``profile`` and ``keys``. A boto3 session is not thread-safe: those clients are made under one lock, from one session
    per profile (a new session per client would load the service models again each time, a fifth of a CPU-second an
    account).
    """

    def __init__(self, endpoint_url: Optional[str] = None, counter=None, region: Optional[str] = None, profile: Optional[str] = None,
                 keys: Optional[Dict] = None, config=None, verify=None) -> None:
        self.endpoint_url = endpoint_url
        self.counter = counter
        self.region, self.profile, self.keys = region or None, profile, keys or {}
        self.config, self.verify = config, verify
        self._sessions: Dict[Optional[str], object] = {}
        self._lock = threading.Lock()

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

    def client(self, service: str, profile: Optional[str] = None, keys: Optional[Dict] = None, retry=RETRY):
        """A client with ``keys`` (an assumed role's), else ``profile``'s, else the run's credentials, whose calls retry (with
        ``retry``) when given ``aws_retry=True``."""
        if keys:
            profile = self.profile  # the keys win over its credentials
        elif profile:
            keys = {}
        else:
            profile, keys = self.profile, self.keys
        with self._lock:
            return retrying(self.make(self._session(profile), service, self.region, keys), retry)

    def region_name(self) -> Optional[str]:
        """The clients' region: ``region``, else the run's profile's or the environment's (as amazon.aws finds a module's).
        Raises ProfileNotFound, before any client is made, for a profile that does not exist."""
        with self._lock:
            session = self._session(self.profile)
        return self.region or session.region_name

    def _session(self, profile: Optional[str]):
        import boto3

        if profile not in self._sessions:
            self._sessions[profile] = boto3.session.Session(profile_name=profile)
        return self._sessions[profile]

    def make(self, session, service: str, region: Optional[str] = None, keys: Optional[Dict] = None, once: bool = False):
        """``session``'s client of ``service``, with these sessions' endpoint, botocore settings and TLS, counted; with
        ``once``, one that never sends a request twice."""
        from botocore.config import Config

        config = self.config
        if once:
            config = Config(retries=SEND_ONCE) if config is None else config.merge(Config(retries=SEND_ONCE))
        client = session.client(service, region_name=region, endpoint_url=self.endpoint_url, config=config, verify=self.verify, **(keys or {}))
        if self.counter is not None:
            self.counter.watch(client)
        return client


class _Session:
    def __init__(self, session, sessions: Sessions) -> None:
        self._session = session
        self._sessions = sessions

    def client(self, service: str, once: bool = False):
        """A client whose calls retry when given ``aws_retry=True``; with ``once``, one that never sends a request twice."""
        client = self._sessions.make(self._session, service, once=once)
        return client if once else retrying(client)


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
