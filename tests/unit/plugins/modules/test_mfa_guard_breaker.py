# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import json

from ansible_collections.awssec.mfa.plugins.modules.mfa_guard_breaker import main


def test_allows_up_to_max_actions_users_then_says_why_and_a_reset_closes_it(run_module, tmp_path):
    path = str(tmp_path / "guard" / "guard-breaker.json")
    first = run_module(main, dict(path=path, user="a", event_id="e1", max_actions=1))
    assert first["rc"] == 0 and first["allowed"] is True and first["changed"] is True and first["users_in_window"] == ["a"]
    second = run_module(main, dict(path=path, user="b", max_actions=1))
    assert second["allowed"] is False and second["changed"] is False and second["reopens_at"]
    assert second["why"].startswith("circuit breaker open: 1 users acted on in the last 15 minutes (mfa_guard_max_actions=1)")
    assert run_module(main, dict(path=path, reset=True), check_mode=True)["changed"] is True
    assert [a["user"] for a in json.load(open(path))["actions"]] == ["a"]  # check mode: still there
    assert run_module(main, dict(path=path, reset=True))["changed"] is True
    assert run_module(main, dict(path=path, user="b", max_actions=1))["allowed"] is True


def test_bad_values_fail_naming_them(run_module, tmp_path):
    path = str(tmp_path / "guard-breaker.json")
    result = run_module(main, dict(path=path, user="{{ x }}", max_actions=-1, window_minutes=0))
    assert result["rc"] == 1 and result["msg"] == ("max_actions must be 0 or more, not -1; window_minutes must be 1 or more, not 0; "
                                                   "user is not an IAM user name (1 to 64 of letters, digits and +=,.@_-)")
    assert run_module(main, dict(path=path))["rc"] == 1  # no user, no reset
