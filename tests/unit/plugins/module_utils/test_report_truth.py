# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reports that can be acted on: whose user a row is, each account's root user, colours by thresholds,
labels that say what they count, grammar; and a restore preview that lists each user once, rightly."""

import re

import pytest

from ansible_collections.awssec.mfa.plugins.module_utils.classify import ClassifyOptions
from ansible_collections.awssec.mfa.plugins.module_utils.enforce import TAG_DISABLED_KEYS, TAG_ENFORCED_AT, EnforceOptions, select_targets
from ansible_collections.awssec.mfa.plugins.module_utils.facts import build_facts
from ansible_collections.awssec.mfa.plugins.module_utils.org import aggregate
from ansible_collections.awssec.mfa.plugins.module_utils.records import Gathered, RootRecord
from ansible_collections.awssec.mfa.plugins.module_utils.report import render_enforcement
from ansible_collections.awssec.mfa.plugins.module_utils.report_doc import compliance_colour, render
from ansible_collections.awssec.mfa.plugins.module_utils.workstation_render import format_duration
from tests.unit.plugins.module_utils.test_facts_and_report import NOW, SEED, _user


def account(account_id, users, root=RootRecord(True, False)):
    return build_facts(Gathered(account_id, "credential_report", NOW, users, root), ClassifyOptions(exclude_users=("svc-*",)), NOW, api_calls=8)


@pytest.fixture
def org():
    """Two accounts, each with an ``alice`` who has console access and no MFA; root MFA only in prod."""
    return aggregate([
        {"account_id": "111111111111", "account_name": "prod", "facts": account("111111111111", [_user("alice", 100, console=True)])},
        {"account_id": "222222222222", "account_name": "dev",
         "facts": account("222222222222", [_user("alice", 100, console=True, keys=1)], RootRecord(False, True))},
    ], "2024-01-15T12:00:00+00:00")


def test_the_org_table_says_whose_user_each_row_is(org):
    table = render(org, "table")
    rows = [line for line in table.splitlines() if re.match(r"│ (prod|dev) +│ alice ", line)]
    assert len(rows) == 2 and rows[0] != rows[1]
    assert "  • dev/alice: Console access without MFA protection" in table
    assert "  • prod/alice: Console access without MFA protection" in table
    assert "  • dev/alice: 1 active access key without MFA" in table
    for fmt in ("markdown", "html"):
        text = render(org, fmt)
        assert "dev/alice" in text and "prod/alice" in text, fmt


def test_the_root_user_is_shown_per_account(org):
    table = render(org, "table")
    assert "  • dev (222222222222): Credentials: access keys (password unknown)   MFA: NOT ENABLED   Access keys: PRESENT" in table
    assert "  • prod (111111111111): Credentials: unknown   MFA: enabled   Access keys: none" in table
    assert "| dev (222222222222) | access keys (password unknown) | NOT ENABLED | PRESENT |" in render(org, "markdown")
    html = render(org, "html")
    assert re.search(r"<td>dev \(222222222222\)</td><td>access keys \(password unknown\)</td>"
                     r"<td class=\"failed\">NOT ENABLED</td><td class=\"failed\">PRESENT</td>", html)
    one = render(account("111111111111", SEED), "table")
    assert "  • Credentials: unknown   MFA: enabled   Access keys: none" in one


def test_a_failed_account_keeps_its_whole_error_in_the_table():
    error = "The config profile (missing-profile) could not be found: check ~/.aws/config or the account's profile"
    facts = aggregate([{"account_id": "333333333333", "account_name": "broken", "error": error},
                       {"account_id": "111111111111", "account_name": "prod", "facts": account("111111111111", SEED)}], "now")
    assert f"  • broken (333333333333) FAILED: {error}" in render(facts, "table")


@pytest.mark.parametrize("pct, colour", [(100.0, "#2e7d32"), (95.0, "#2e7d32"), (94.9, "#ef6c00"), (80.0, "#ef6c00"),
                                         (79.9, "#c62828"), (25.0, "#c62828"), (None, "#ef6c00")])
def test_compliance_is_coloured_by_thresholds(pct, colour):
    assert compliance_colour(pct) == colour


def test_the_html_card_and_account_bars_are_red_at_25_percent_and_say_the_thresholds():
    users = [_user("a", 100, mfa=True, console=True), _user("b", 100, console=True), _user("c", 100, console=True), _user("d", 100, console=True)]
    facts = aggregate([{"account_id": "111111111111", "account_name": "prod", "facts": account("111111111111", users)}], "now")
    html = render(facts, "html")
    assert '<div class="n" style="color:#c62828">25.0%</div><div class="l">Compliance (target 95%+)</div>' in html
    assert re.search(r'<rect [^>]*fill="#c62828"', html) and not re.search(r'<rect [^>]*fill="#2e7d32"[^>]*/><text[^>]*>25%', html)
    assert "green at 95% and above, amber from 80%, red below 80%" in html


def test_findings_count_every_status_and_say_so():
    facts = account("111111111111", SEED + [_user("svc-web", 900, console=True)])
    table = render(facts, "table")
    assert "FINDINGS BY REASON (every status, exempted and grace-period users included):" in table
    # bob.wilson (non-compliant), new.user (grace period) and svc-web (exempted) have console access without MFA.
    assert "  • console_without_mfa (3: 1 non-compliant, 1 grace-period, 1 exempted): bob.wilson, new.user, svc-web" in table
    assert "Focus on the non-compliant console users without MFA (1 user)" in table
    html = render(facts, "html")
    assert "<li>console_without_mfa (3: 1 non-compliant, 1 grace-period, 1 exempted)</li>" in html
    assert "Console without MFA (non-compliant)" in html


def test_counts_of_one_are_singular():
    table = render(account("111111111111", SEED), "table")
    assert "(1 user)" in table and "1 users" not in table
    assert format_duration(3600) == "1 hour, 0 minutes" and format_duration(7260) == "2 hours, 1 minute"


def _restore_gathered():
    """After enforcement (tags recorded) of two users created 3 days ago: ana has set up MFA since, bo has not."""
    tags = {TAG_ENFORCED_AT: "2024-01-14T00:00:00+00:00", TAG_DISABLED_KEYS: "AKIAANA0"}
    ana, bo = _user("ana", 3, mfa=True, keys=0, tags=dict(tags)), _user("bo", 3, console=True, tags=dict(tags))
    return Gathered("123456789012", "credential_report", NOW, [ana, bo, _user("new.user", 2, console=True)],
                    RootRecord(True, False), caller_arn="arn:aws:iam::123456789012:user/admin")


def test_the_restore_preview_lists_each_user_once_with_the_right_justification():
    selected = select_targets(_restore_gathered(), ClassifyOptions(grace_period_days=7), EnforceOptions(state="restored"), NOW)
    assert [t["username"] for t in selected["targets"]] == ["ana", "bo"]
    assert selected["grace_period"] == [] and selected["exempted"] == []
    by_name = {t["username"]: t["justification"] for t in selected["targets"]}
    assert by_name == {"ana": "MFA set up since enforcement: undo what enforcement did",
                       "bo": "Enforced earlier; still without MFA (restored once MFA is set up)"}
    entries = [dict(t, actions=["enable_key:AKIAANA0", "remove_tags"] if t["username"] == "ana" else [],
                    result="planned" if t["username"] == "ana" else "skipped", reason=None if t["username"] == "ana" else "still_without_mfa")
               for t in selected["targets"]]
    summary = {"users_affected": 1, "keys_disabled": 0, "keys_enabled": 1, "policies_attached": 0, "policies_detached": 0,
               "consoles_disabled": 0, "skipped": 1, "failed": 0, "exempted": [], "grace_period": []}
    preview = render_enforcement({"state": "restored", "actions": entries, "summary": summary, "policy_change": "none"}, True)
    assert len(re.findall(r"│ ana ", preview)) == 1 and len(re.findall(r"│ bo ", preview)) == 1
    assert "left alone" not in preview and "Would re-enable 1 access key" in preview


def test_enforcement_still_lists_grace_period_and_exempted_users():
    gathered = _restore_gathered()
    selected = select_targets(gathered, ClassifyOptions(grace_period_days=7, exclude_users=("bo",)), EnforceOptions(), NOW)
    assert [g["username"] for g in selected["grace_period"]] == ["new.user"]
    assert [x["username"] for x in selected["exempted"]] == ["bo"]


def test_the_preview_never_says_a_deleted_password_can_be_restored():
    entry = {"username": "bo", "access": "console", "actions": ["attach_policy", "delete_login_profile"], "result": "planned",
             "justification": "Console access without MFA", "after": None}
    summary = {"users_affected": 1, "keys_disabled": 0, "policies_attached": 1, "consoles_disabled": 1, "skipped": 0, "failed": 0,
               "exempted": [], "grace_period": []}
    preview = render_enforcement({"state": "enforced", "actions": [entry], "summary": summary, "policy_change": "none"}, True)
    assert "The console passwords of 1 user will be deleted: a deleted password cannot be restored" in preview
    # What restoring gives back is named, and the password is not among it.
    restore = next(line for line in preview.splitlines() if "re-enabled" in line or "mfa_enforce_state=restored" in line)
    assert "password" not in restore and "console" not in restore.lower()


def test_results_say_what_was_done_in_the_past_tense():
    entry = {"username": "bo", "access": "keys", "actions": ["disable_key:AKIA1"], "done": ["disable_key:AKIA1"], "result": "done",
             "justification": "", "after": None}
    summary = {"users_affected": 1, "keys_disabled": 1, "policies_attached": 0, "consoles_disabled": 0, "skipped": 0, "failed": 0,
               "exempted": [], "grace_period": []}
    text = render_enforcement({"state": "enforced", "actions": [entry], "summary": summary, "policy_change": "create",
                               "policy_arn": "arn:aws:iam::1:policy/RequireMFA"}, False)
    assert "Disabled 1 access key of 1 user" in text and "Created the policy arn:aws:iam::1:policy/RequireMFA" in text
    assert "Would " not in text and "PLANNED" not in text and "COMPLETE" in text


def test_a_warning_run_says_it_only_warns_not_check_mode_words():
    """The MFA guard's warn mode (mfa_enforce_notify_warn_only) printed "[CHECK MODE] ... Run without --check" and
    "1 user will lose AWS access": nobody ran --check, and no one loses access from a warning."""
    entry = {"username": "bo", "access": "keys", "actions": ["disable_key:AKIA1", "attach_policy"], "result": "planned",
             "justification": "Active access keys without MFA", "after": None}
    summary = {"users_affected": 1, "keys_disabled": 1, "policies_attached": 1, "consoles_disabled": 0, "skipped": 0, "failed": 0,
               "exempted": [], "grace_period": []}
    result = {"state": "enforced", "actions": [entry], "summary": summary, "policy_change": "none"}
    warning = render_enforcement(result, False, warn_only=True)
    assert "[CHECK MODE]" not in warning and "--check" not in warning and "will lose" not in warning
    assert "[WARNING ONLY] Nothing was changed; the users are warned of what enforcement would do." in warning
    assert "1 user would lose AWS access, once enforced, until they set up MFA" in warning
    assert warning.rstrip().endswith("Only a warning: nothing is enforced. To enforce, run without mfa_enforce_notify_warn_only "
                                     "(the MFA guard: mfa_guard_enforce=true).")
    preview = render_enforcement(dict(result, over_max_affected=["bo"]), True)
    assert "[CHECK MODE]" in preview and "1 user will lose AWS access until they set up MFA" in preview
    assert "Applying this plan would be refused: 1 users would be acted on, more than max_affected; raise it to at least 1" in preview
