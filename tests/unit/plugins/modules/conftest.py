# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Run a module's main() in this process and read back the JSON it prints, on every ansible-core of the matrix."""

import contextlib
import json
from unittest import mock

import pytest

from ansible.module_utils import basic

try:  # ansible-core 2.19 and later
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core 2.17 and 2.18 read the arguments from basic._ANSIBLE_ARGS
    @contextlib.contextmanager
    def patch_module_args(args=None):
        with mock.patch.object(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args or {}}).encode()):
            yield


class ModuleRun:
    def __init__(self, capsys):
        self._capsys = capsys

    def __call__(self, main, args, check_mode=False, no_log=False, diff=False):
        """The result of ``main()`` run with ``args``: the dictionary the module printed, with ``rc`` its exit status."""
        args = dict(args, _ansible_check_mode=check_mode, _ansible_no_log=no_log, _ansible_diff=diff)
        self._capsys.readouterr()
        with patch_module_args(args), pytest.raises(SystemExit) as exit_:
            main()
        out = self._capsys.readouterr().out
        result = json.loads(out)
        result["rc"] = exit_.value.code
        return result


@pytest.fixture
def run_module(capsys):
    return ModuleRun(capsys)


@pytest.fixture
def moto_account(aws_env, monkeypatch):
    """An in-process moto account outside any Organization, whose IAM clients, made by the modules, answer
    iam:ListOrganizationsFeatures as AWS does there (moto lacks it). Its value: aws_env's."""
    from moto import mock_aws  # pylint: disable=import-outside-toplevel
    from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # pylint: disable=import-outside-toplevel
    from tests.support.aws_like import outside_any_organization  # pylint: disable=import-outside-toplevel

    made = AnsibleAWSModule.client

    def client(self, service, *args, **kwargs):
        answer = made(self, service, *args, **kwargs)
        return outside_any_organization(answer) if service == "iam" else answer

    monkeypatch.setattr(AnsibleAWSModule, "client", client)
    with mock_aws():
        yield aws_env


@pytest.fixture
def throttled(moto_account, monkeypatch):
    """``throttled(service, operation, times)``: the modules' ``service`` clients answer Throttling to the first ``times``
    calls of ``operation``, before any request is sent (botocore's own retries never see them: only the collection's
    retries can get past them); the calls made, a list. Backoff sleeps are skipped."""
    from botocore.awsrequest import AWSResponse  # pylint: disable=import-outside-toplevel
    from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # pylint: disable=import-outside-toplevel

    monkeypatch.setattr("time.sleep", lambda seconds: None)  # AWSRetry.jittered_backoff sleeps through time.sleep
    made, hooks = AnsibleAWSModule.client, []

    def client(self, service, *args, **kwargs):
        answer = made(self, service, *args, **kwargs)
        for hooked, operation, hook in hooks:
            if hooked == service:
                answer.meta.events.register(f"before-call.{service}.{operation}", hook)
        return answer

    def throttle(service, operation, times):
        calls = []

        def hook(**kwargs):  # pylint: disable=unused-argument
            calls.append(operation)
            if len(calls) <= times:
                error = {"Code": "Throttling", "Message": "Rate exceeded"}
                return AWSResponse(f"https://{service}.amazonaws.com/", 400, {}, None), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}
            return None
        hooks.append((service, operation, hook))
        return calls

    monkeypatch.setattr(AnsibleAWSModule, "client", client)
    return throttle
