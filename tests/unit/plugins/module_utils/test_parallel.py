# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Users read live, several at once: a bounded pool, results in order, the same records and calls as one by one."""

import threading
import time
from dataclasses import asdict

import boto3
import pytest
from moto import mock_aws

from ansible_collections.awssec.mfa.plugins.module_utils.classify import ClassifyOptions
from ansible_collections.awssec.mfa.plugins.module_utils.clients import CallCounter
from ansible_collections.awssec.mfa.plugins.module_utils.gather import gather
from ansible_collections.awssec.mfa.plugins.module_utils.parallel import bounded_map, check_concurrency
from tests.support.aws_like import outside_any_organization


class Tracker:
    """Counts how many calls run at once, and which threads ran them."""

    def __init__(self, seconds=0.02):
        self.seconds, self.active, self.most, self.started, self.threads = seconds, 0, 0, [], set()
        self.lock = threading.Lock()

    def __call__(self, item):
        with self.lock:
            self.active += 1
            self.most = max(self.most, self.active)
            self.started.append(item)
            self.threads.add(threading.current_thread().name)
        time.sleep(self.seconds * (item % 3))  # uneven: later items often finish first
        with self.lock:
            self.active -= 1
        if item == "fail" or item == 13:
            raise ValueError(f"item {item}")
        return item * 10


def test_results_come_in_order_with_at_most_concurrency_at_once():
    track = Tracker()
    assert list(bounded_map(track, range(12), 4)) == [i * 10 for i in range(12)]
    assert track.most == 4 and len(track.threads) == 4


def test_one_at_a_time_runs_in_the_callers_thread():
    track = Tracker(seconds=0)
    assert list(bounded_map(track, range(5), 1)) == [0, 10, 20, 30, 40]
    assert track.most == 1 and track.threads == {threading.current_thread().name}


def test_the_first_failure_in_order_is_raised_and_what_has_not_started_is_cancelled():
    track = Tracker(seconds=0.05)
    results = bounded_map(track, list(range(12, 40)), 2)
    assert next(results) == 120
    with pytest.raises(ValueError, match="item 13"):
        next(results)
    assert len(track.started) < 28


def test_a_caller_that_stops_early_cancels_the_rest():
    track = Tracker(seconds=0.05)
    for result in bounded_map(track, list(range(30)), 2):
        if result == 20:
            break
    assert len(track.started) < 30


@pytest.mark.parametrize("value, problems", [(1, []), (64, []), (0, ["concurrency must be from 1 to 64, not 0"]),
                                             (65, ["concurrency must be from 1 to 64, not 65"])])
def test_concurrency_is_checked_by_name(value, problems):
    assert check_concurrency(value) == problems


@pytest.fixture
def account():
    with mock_aws():
        kw = {"region_name": "us-east-1", "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        iam, sts = outside_any_organization(boto3.client("iam", **kw)), boto3.client("sts", **kw)
        for n in range(24):
            name = f"user-{n:02d}"
            iam.create_user(UserName=name, Tags=[{"Key": "team", "Value": str(n % 3)}])
            if n % 2:
                iam.create_login_profile(UserName=name, Password="Pass-word-1!")
            for dummy in range(n % 3):
                iam.create_access_key(UserName=name)
            if n % 4 == 0:
                iam.enable_mfa_device(UserName=name, SerialNumber=f"GAHT{n:08d}", AuthenticationCode1="123456", AuthenticationCode2="654321")
        yield iam, sts


def _read(iam, sts, concurrency):
    counter, threads = CallCounter(), set()
    counter.watch(iam)

    def note(**kw):
        threads.add(threading.current_thread().name)

    iam.meta.events.register("before-send.iam.ListAccessKeys", note)
    gathered = gather(iam, sts, "live", ClassifyOptions(), concurrency=concurrency)
    iam.meta.events.unregister("before-send.iam.ListAccessKeys", note)
    return gathered, counter.count, threads


def test_live_reads_at_once_give_the_same_users_and_calls_as_one_by_one(account):
    iam, sts = account
    one, one_calls, one_threads = _read(iam, sts, 1)
    many, many_calls, many_threads = _read(iam, sts, 8)
    assert [asdict(u) for u in many.users] == [asdict(u) for u in one.users]
    assert len(one.users) == 24 and many.warnings == one.warnings
    assert many_calls == one_calls
    assert one_threads == {threading.current_thread().name}
    assert len(many_threads) > 1 and threading.current_thread().name not in many_threads


def test_a_user_deleted_while_read_at_once_is_left_out_with_its_warning(account):
    iam, sts = account

    def delete_once(**kw):
        if kw["params"]["body"].get("UserName") == "user-05" and not deleted:
            deleted.append(True)
            for key in iam.list_access_keys(UserName="user-05")["AccessKeyMetadata"]:
                iam.delete_access_key(UserName="user-05", AccessKeyId=key["AccessKeyId"])
            iam.delete_login_profile(UserName="user-05")
            iam.delete_user(UserName="user-05")

    deleted = []
    iam.meta.events.register("before-call.iam.ListMFADevices", delete_once)
    got = gather(iam, sts, "live", ClassifyOptions(), concurrency=8)
    assert "user-05" not in [u.username for u in got.users] and len(got.users) == 23
    assert got.warnings == ["user user-05 was deleted while it was being read; it is left out"]
