# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Rotation decisions (pure) and the verification loop, with plain fakes."""

from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.awssec.mfa.plugins.module_utils import rotate as r
from ansible_collections.awssec.mfa.plugins.module_utils.awsfiles import IniFile

NOW = datetime(2026, 11, 23, 14, 30, 52, tzinfo=timezone.utc)


def key(key_id, status="Active", days=10):
    return {"AccessKeyId": key_id, "Status": status, "CreateDate": NOW - timedelta(days=days)}


def test_room_is_needed_only_with_two_keys():
    assert r.plan_room([key("OLD")], "OLD", [], "keep") is None


def test_a_backed_up_inactive_key_makes_room_whatever_extra_keys_says():
    assert r.plan_room([key("OLD"), key("PREV", "Inactive")], "OLD", ["PREV"], "keep")["access_key_id"] == "PREV"


# An active key makes no room even when an earlier rotation backed it up (it was re-enabled since); an inactive one
# makes room only when backed up.
@pytest.mark.parametrize("status, backed_up", [("Active", ["X"]), ("Inactive", []), ("Active", [])])
def test_any_other_second_key_needs_extra_keys_delete(status, backed_up):
    keys = [key("OLD"), key("X", status)]
    for setting in ("keep", "deactivate"):
        with pytest.raises(r.RotateError, match=rf"\(OLD in use, X {status}\) .* with extra_keys={setting} there is no room"):
            r.plan_room(keys, "OLD", backed_up, setting)
    assert r.plan_room(keys, "OLD", backed_up, "delete") == {"access_key_id": "X", "why": "extra_keys=delete"}


def test_due_past_max_age_or_forced():
    options = r.RotateOptions(max_age_days=365)
    assert not r.is_due(365, options) and r.is_due(366, options)
    assert r.is_due(1, r.RotateOptions(force=True))


@pytest.mark.parametrize("limit", [1, 90, 365])
def test_one_rule_for_key_too_old_at_the_boundary(limit):
    """A key exactly as old as the limit was rotated by rotate_keys, yet neither flagged by the report nor "required" at
    login; one day older, all three agree (records.key_too_old)."""
    from ansible_collections.awssec.mfa.plugins.module_utils import workstation as ws
    from ansible_collections.awssec.mfa.plugins.module_utils.classify import ClassifyOptions, classify
    from ansible_collections.awssec.mfa.plugins.module_utils.records import AccessKey, MFADevice, UserRecord

    for age, too_old in ((limit, False), (limit + 1, True)):
        created = NOW - timedelta(days=age, hours=1)
        user = UserRecord(username="u", arn="arn:aws:iam::123456789012:user/u", created=created, mfa_devices=[MFADevice("s", "virtual")],
                          access_keys=[AccessKey("Active", created, NOW)])
        report = "key_older_than_max_age" in classify(user, ClassifyOptions(max_key_age_days=limit), NOW).reasons
        rotation = r.is_due(r.age_days({"CreateDate": created}, NOW), r.RotateOptions(max_age_days=limit))
        login = ws.key_findings([{"AccessKeyId": "AKIA1", "CreateDate": created, "Status": "Active"}], "AKIA1", limit, NOW)["key_rotation"]
        assert (report, rotation, login == "required") == (too_old, too_old, too_old), (age, limit)


def test_backup_names_and_values_are_the_seeds():
    assert r.backup_section("prod-long-term", NOW) == "prod-long-term_deactivated_20261123_143052"
    assert r.backup_values("AKIA", "s", "prod-long-term", NOW)["deactivated_at"] == "2026-11-23 14:30:52 UTC"
    ini = IniFile("[prod-long-term_deactivated_20251219_143052]\naws_access_key_id = AKIAOLD\n[other]\naws_access_key_id = AKIAX\n")
    assert r.backed_up_ids(ini) == ["AKIAOLD"]


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_verification_needs_three_successes_in_a_row_and_backs_off():
    clock = Clock()
    answers = iter([False, False, True, False, True, True, True])

    def verify(key_id, secret):
        if not next(answers):
            raise RuntimeError("InvalidClientTokenId")
    hooks = r.Hooks(verify=verify, sleep=clock.sleep, clock=lambda: clock.now)
    assert r._verify(hooks, "AKIANEW", "s", 60) is None
    assert clock.sleeps == [1.0, 2.0, 0.5, 4.0, 0.5, 0.5]


def test_verification_gives_up_at_the_timeout():
    clock = Clock()

    def verify(key_id, secret):
        raise RuntimeError("InvalidClientTokenId")
    hooks = r.Hooks(verify=verify, sleep=clock.sleep, clock=lambda: clock.now)
    problem = r._verify(hooks, "AKIANEW", "s", 10)
    assert problem == "AKIANEW did not work within 10 s (last error: InvalidClientTokenId)" and clock.now <= 10


class FakeIAM:
    def __init__(self):
        self.calls = []

    def create_access_key(self, UserName, **kwargs):
        assert not kwargs, "CreateAccessKey is sent once: a lost answer must not make a second key"
        self.calls.append("create")
        return {"AccessKey": {"AccessKeyId": "AKIANEW", "SecretAccessKey": "newsecret"}}

    def update_access_key(self, aws_retry=False, **kwargs):
        assert aws_retry, "every change is retried on throttling"
        self.calls.append(("update", kwargs["AccessKeyId"], kwargs["Status"]))

    def delete_access_key(self, aws_retry=False, **kwargs):
        assert aws_retry, "every change is retried on throttling"
        self.calls.append(("delete", kwargs["AccessKeyId"]))


def test_admin_mode_returns_the_secret_and_check_mode_calls_nothing():
    iam = FakeIAM()
    hooks = r.Hooks(verify=lambda k, s: None, sleep=lambda s: None)
    result = r.rotate(iam, "svc", "OLD", [key("OLD", days=400)], [], r.RotateOptions(), hooks, NOW, check_mode=True)
    assert iam.calls == [] and result["changed"] is True and [s["step"] for s in result["steps"]] == ["create", "verify", "retire_old"]
    result = r.rotate(iam, "svc", "OLD", [key("OLD", days=400)], [], r.RotateOptions(), hooks, NOW)
    assert result["secret_access_key"] == "newsecret" and iam.calls == ["create", ("update", "OLD", "Inactive")]
    assert r.render_rotation(result, "svc")[-3:] == ["✓ Key rotation complete for 'svc'!", "ℹ New key: AKIANEW", "ℹ Old key: OLD (deactivated)"]
    assert result["old_key_status"] == "Inactive"
    for old_key, status, said in (("delete", "deleted", "deleted"), ("keep", "Active", "still active")):
        result = r.rotate(FakeIAM(), "svc", "OLD", [key("OLD", days=400)], [], r.RotateOptions(old_key=old_key), hooks, NOW)
        assert result["old_key_status"] == status and r.render_rotation(result, "svc")[-1] == f"ℹ Old key: OLD ({said})"


def test_the_admin_mode_rotates_the_oldest_active_key_unless_one_is_named():
    keys = [key("NEWER", days=10), key("OLDEST", days=400, status="Inactive"), key("OLD", days=300)]
    assert r.oldest_active_key(keys, "svc") == "OLD"
    with pytest.raises(r.RotateError, match="user svc has no active access key to rotate"):
        r.oldest_active_key([key("OLDEST", days=400, status="Inactive")], "svc")


def test_a_run_for_the_second_key_alone_never_rotates_the_key_in_use():
    only_extra = r.RotateOptions(rotate=False, extra_keys="deactivate")
    assert not r.is_due(10 ** 6, only_extra) and r.is_due(0, r.RotateOptions(rotate=False, force=True))
    iam = FakeIAM()
    hooks = r.Hooks(verify=lambda k, s: None, sleep=lambda s: None)
    result = r.rotate(iam, "svc", "OLD", [key("OLD", days=4000), key("SECOND", days=5)], [], only_extra, hooks, NOW)
    assert result["rotated"] is False and iam.calls == [("update", "SECOND", "Inactive")]
    assert result["steps"][0] == {"step": "rotate", "result": "skipped", "detail": "only the second key was to be handled"}
