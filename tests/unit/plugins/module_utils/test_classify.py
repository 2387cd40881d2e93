# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from datetime import date, datetime, timedelta, timezone

import pytest

from ansible_collections.awssec.mfa.plugins.module_utils.classify import (
    MEDIUM_RISK_REASONS,
    ClassifyOptions,
    check_options,
    classify,
    risk_of,
    is_selected,
    parse_exemption_tag,
)
from ansible_collections.awssec.mfa.plugins.module_utils.records import AccessKey, MFADevice, UserRecord

NOW = datetime(2024, 6, 15, 12, 0, tzinfo=timezone.utc)


def days_ago(days, hours=0):
    return NOW - timedelta(days=days, hours=hours)


def user(name="alice", age=100, mfa=None, console=False, keys=(), tags=None, password_used=None):
    return UserRecord(
        username=name,
        arn=f"arn:aws:iam::123456789012:user/{name}",
        created=days_ago(age),
        console_access=console,
        password_last_used=password_used,
        mfa_devices=[MFADevice(serial=f"s-{t}", type=t) for t in (mfa or [])],
        access_keys=list(keys),
        tags=tags or {},
    )


def key(age=10, active=True, used=1):
    return AccessKey(status="Active" if active else "Inactive", created=days_ago(age), last_used=None if used is None else days_ago(used))


# (case id, user, options, expected status, risk, grace_days_remaining)
STATUS_CASES = [
    ("mfa with console and keys", user(mfa=["virtual"], console=True, password_used=days_ago(1), keys=[key()]), ClassifyOptions(), "compliant", "low", None),
    ("no mfa, no console, no key", user(), ClassifyOptions(), "compliant", "low", None),
    ("no mfa, only an inactive key", user(keys=[key(active=False)]), ClassifyOptions(), "compliant", "low", None),
    ("console without mfa", user(console=True, password_used=days_ago(1)), ClassifyOptions(), "non-compliant", "high", None),
    ("active key without mfa", user(keys=[key()]), ClassifyOptions(), "non-compliant", "high", None),
    ("one day into grace", user(age=1, console=True), ClassifyOptions(), "grace-period", "medium", 6),
    ("age 0", user(age=0, keys=[key(age=0)]), ClassifyOptions(), "grace-period", "medium", 7),
    ("last day of grace", user(age=6, console=True), ClassifyOptions(), "grace-period", "medium", 1),
    ("age equal to the grace period", user(age=7, console=True), ClassifyOptions(), "non-compliant", "high", None),
    (
        "6 days and 23 hours old",
        UserRecord(username="alice", arn="arn:aws:iam::123456789012:user/alice", created=days_ago(6, hours=23), console_access=True),
        ClassifyOptions(grace_period_days=7), "grace-period", "medium", 1,
    ),
    ("grace period of 0", user(age=0, console=True), ClassifyOptions(grace_period_days=0), "non-compliant", "high", None),
    ("longer grace period", user(age=20, console=True), ClassifyOptions(grace_period_days=30), "grace-period", "medium", 10),
    ("young but with mfa", user(age=1, console=True, mfa=["hardware"]), ClassifyOptions(), "compliant", "low", None),
    ("exclude glob", user(name="svc-backup", keys=[key()]), ClassifyOptions(exclude_users=("svc-*",)), "exempted", "medium", None),
    ("exclude exact name", user(name="bob", console=True), ClassifyOptions(exclude_users=("bob",)), "exempted", "medium", None),
    ("exclude glob does not match", user(name="svcbackup", keys=[key()]), ClassifyOptions(exclude_users=("svc-*",)), "non-compliant", "high", None),
    ("exclude is case-sensitive", user(name="SVC-x", keys=[key()]), ClassifyOptions(exclude_users=("svc-*",)), "non-compliant", "high", None),
    ("exclude with ? and []", user(name="ops-7", console=True), ClassifyOptions(exclude_users=("ops-?", "x[0-9]")), "exempted", "medium", None),
    (
        "include overrides exclude", user(name="svc-admin", console=True),
        ClassifyOptions(exclude_users=("svc-*",), include_users=("svc-admin",)), "non-compliant", "high", None,
    ),
    ("exempted even when compliant", user(name="svc-a", mfa=["virtual"]), ClassifyOptions(exclude_users=("svc-*",)), "exempted", "low", None),
    ("tag exempts", user(console=True, tags={"mfa-exempt": "break-glass"}), ClassifyOptions(), "exempted", "medium", None),
    ("tag with future until", user(console=True, tags={"mfa-exempt": "audit; until=2024-12-31"}), ClassifyOptions(), "exempted", "medium", None),
    ("tag until today still exempts", user(console=True, tags={"mfa-exempt": "until=2024-06-15"}), ClassifyOptions(), "exempted", "medium", None),
    ("expired tag no longer exempts", user(console=True, tags={"mfa-exempt": "audit; until=2024-06-14"}), ClassifyOptions(), "non-compliant", "high", None),
    ("expired tag, young user", user(age=2, console=True, tags={"mfa-exempt": "until=2020-01-01"}), ClassifyOptions(), "grace-period", "medium", 5),
    ("tag with a bad date does not exempt", user(console=True, tags={"mfa-exempt": "until=soon"}), ClassifyOptions(), "non-compliant", "high", None),
    ("other tag key", user(console=True, tags={"mfa-exempt": "x"}), ClassifyOptions(exempt_tag="no-mfa-ok"), "non-compliant", "high", None),
    ("custom tag key", user(console=True, tags={"no-mfa-ok": "robot"}), ClassifyOptions(exempt_tag="no-mfa-ok"), "exempted", "medium", None),
]


@pytest.mark.parametrize("record,options,status,risk,grace", [c[1:] for c in STATUS_CASES], ids=[c[0] for c in STATUS_CASES])
def test_status_risk_and_grace(record, options, status, risk, grace):
    verdict = classify(record, options, NOW)
    assert (verdict.status, verdict.risk, verdict.grace_days_remaining) == (status, risk, grace)


# (case id, user, options, expected reasons)
REASON_CASES = [
    ("nothing wrong", user(mfa=["hardware"], console=True, keys=[key()], password_used=days_ago(1)), ClassifyOptions(), []),
    ("console without mfa", user(console=True, password_used=days_ago(1)), ClassifyOptions(), ["console_without_mfa"]),
    ("key without mfa", user(keys=[key()]), ClassifyOptions(), ["active_keys_without_mfa"]),
    ("inactive key is not a finding", user(keys=[key(age=500, active=False, used=400)]), ClassifyOptions(), []),
    ("key exactly max age", user(mfa=["hardware"], keys=[key(age=90)]), ClassifyOptions(), []),
    ("key one day over max age", user(mfa=["hardware"], keys=[key(age=91)]), ClassifyOptions(), ["key_older_than_max_age"]),
    ("custom max age", user(mfa=["hardware"], keys=[key(age=31)]), ClassifyOptions(max_key_age_days=30), ["key_older_than_max_age"]),
    ("key unused exactly the limit", user(mfa=["hardware"], keys=[key(age=60, used=45)]), ClassifyOptions(), []),
    ("key unused over the limit", user(mfa=["hardware"], keys=[key(age=60, used=46)]), ClassifyOptions(), ["unused_credentials"]),
    ("key never used, counted from creation", user(mfa=["hardware"], keys=[key(age=46, used=None)]), ClassifyOptions(), ["unused_credentials"]),
    ("new key never used", user(mfa=["hardware"], keys=[key(age=3, used=None)]), ClassifyOptions(), []),
    ("password never used counts from user creation", user(age=50, mfa=["hardware"], console=True), ClassifyOptions(), ["unused_credentials"]),
    ("password used recently", user(age=50, mfa=["hardware"], console=True, password_used=days_ago(3)), ClassifyOptions(), []),
    ("two active keys", user(mfa=["virtual"], keys=[key(), key()]), ClassifyOptions(), ["multiple_active_keys"]),
    ("one active, one inactive", user(mfa=["virtual"], keys=[key(), key(active=False)]), ClassifyOptions(), []),
    ("virtual only, hardware not required", user(mfa=["virtual"]), ClassifyOptions(), []),
    ("virtual only, hardware required", user(mfa=["virtual"]), ClassifyOptions(require_hardware_mfa=True), ["virtual_mfa_only"]),
    ("virtual and hardware, hardware required", user(mfa=["virtual", "hardware"]), ClassifyOptions(require_hardware_mfa=True), []),
    ("unknown type is not flagged", user(mfa=["unknown"]), ClassifyOptions(require_hardware_mfa=True), []),
    ("no mfa, hardware required", user(), ClassifyOptions(require_hardware_mfa=True), []),
    (
        "everything at once, in vocabulary order",
        user(console=True, keys=[key(age=200, used=None), key(age=100, used=50)]),
        ClassifyOptions(),
        ["console_without_mfa", "active_keys_without_mfa", "key_older_than_max_age", "unused_credentials", "multiple_active_keys"],
    ),
    ("reasons kept for exempted users", user(name="svc-x", keys=[key()]), ClassifyOptions(exclude_users=("svc-*",)), ["active_keys_without_mfa"]),
]


@pytest.mark.parametrize("record,options,reasons", [c[1:] for c in REASON_CASES], ids=[c[0] for c in REASON_CASES])
def test_reasons(record, options, reasons):
    assert classify(record, options, NOW).reasons == reasons


def test_exemption_details():
    by_pattern = classify(user(name="svc-a"), ClassifyOptions(exclude_users=("x", "svc-*")), NOW).exemption
    assert by_pattern == {"reason": "matches exclude_users pattern svc-*", "until": None, "source": "pattern"}
    by_tag = classify(user(tags={"mfa-exempt": "contractor laptop; until=2024-12-31"}), ClassifyOptions(), NOW).exemption
    assert by_tag == {"reason": "contractor laptop", "until": "2024-12-31", "source": "tag"}
    no_reason = classify(user(tags={"mfa-exempt": ""}), ClassifyOptions(), NOW).exemption
    assert no_reason == {"reason": "tagged mfa-exempt with no reason and no end date", "until": None, "source": "tag"}
    assert classify(user(tags={"mfa-exempt": "until=2024-12-31"}), ClassifyOptions(), NOW).exemption["reason"] == "tagged mfa-exempt"
    assert classify(user(console=True), ClassifyOptions(), NOW).exemption is None


def test_an_empty_exemption_tag_and_an_expired_one_are_said_in_the_reasons():
    """An empty mfa-exempt tag exempts for ever with no why; an expired one used to drop off without a word."""
    empty = classify(user(console=True, password_used=days_ago(1), tags={"mfa-exempt": " ; "}), ClassifyOptions(), NOW)
    assert (empty.status, empty.risk) == ("exempted", "medium") and empty.reasons == ["console_without_mfa", "exemption_without_reason"]
    with_mfa = classify(user(mfa=["virtual"], tags={"mfa-exempt": ""}), ClassifyOptions(), NOW)
    assert (with_mfa.status, with_mfa.risk, with_mfa.reasons) == ("exempted", "medium", ["exemption_without_reason"])
    given = classify(user(console=True, password_used=days_ago(1), tags={"mfa-exempt": "break-glass"}), ClassifyOptions(), NOW)
    assert given.reasons == ["console_without_mfa"]
    expired = classify(user(console=True, password_used=days_ago(1), tags={"mfa-exempt": "audit; until=2024-06-14"}), ClassifyOptions(), NOW)
    assert (expired.status, expired.risk, expired.exemption) == ("non-compliant", "high", None)
    assert expired.reasons == ["console_without_mfa", "exemption_expired"]
    fixed = classify(user(mfa=["hardware"], tags={"mfa-exempt": "until=2024-01-01"}), ClassifyOptions(), NOW)
    assert (fixed.status, fixed.risk, fixed.reasons) == ("compliant", "low", ["exemption_expired"])


def test_risk_reflects_every_finding_not_only_the_status():
    """A user with MFA and two active keys unused for a year and a half was compliant / low."""
    idle = classify(user(mfa=["virtual"], keys=[key(age=700, used=540), key(age=600, used=400)]), ClassifyOptions(), NOW)
    assert idle.status == "compliant" and idle.risk == "medium"
    assert idle.reasons == ["key_older_than_max_age", "unused_credentials", "multiple_active_keys"]


@pytest.mark.parametrize("status", ["compliant", "exempted", "grace-period", "non-compliant"])
def test_the_risk_table(status):
    """docs/findings.md's table: high for non-compliant; medium in the grace period or with a finding of
    MEDIUM_RISK_REASONS; low otherwise."""
    for reasons in ([], ["virtual_mfa_only"], ["not_phishing_resistant", "exemption_expired"], *([r] for r in sorted(MEDIUM_RISK_REASONS))):
        expected = {"non-compliant": "high", "grace-period": "medium"}.get(status) or ("medium" if set(reasons) & MEDIUM_RISK_REASONS else "low")
        assert risk_of(status, reasons) == expected, (status, reasons)


def test_bad_exemption_date_warns_and_names_the_user():
    verdict = classify(user(name="carol", console=True, tags={"mfa-exempt": "until=31/12/2024"}), ClassifyOptions(), NOW)
    assert verdict.exemption is None
    assert verdict.warnings == ["user carol: tag mfa-exempt ignored: until='31/12/2024' is not a YYYY-MM-DD date"]


@pytest.mark.parametrize(
    "value,expected",
    [
        ("break-glass", ("break-glass", None)),
        ("contractor; until=2026-03-31", ("contractor", date(2026, 3, 31))),
        ("until=2026-03-31 contractor", ("contractor", date(2026, 3, 31))),
        ("until=2026-03-31", (None, date(2026, 3, 31))),
        ("", (None, None)),
    ],
)
def test_parse_exemption_tag(value, expected):
    assert parse_exemption_tag(value) == expected


@pytest.mark.parametrize("value", ["until=2026-02-30", "until=", "x until=tomorrow"])
def test_parse_exemption_tag_rejects_bad_dates(value):
    with pytest.raises(ValueError, match="is not a YYYY-MM-DD date"):
        parse_exemption_tag(value)


@pytest.mark.parametrize(
    "name,include,selected",
    [("bob", (), True), ("bob", ("b*",), True), ("bob", ("alice", "carol"), False), ("admin-break-glass", ("admin-*",), True)],
)
def test_is_selected(name, include, selected):
    assert is_selected(name, ClassifyOptions(include_users=include)) is selected


def test_days_since_creation_is_floored_and_timezone_aware():
    # 6 days and 23 hours is still 6 whole days, whatever the clock's time zone.
    record = user(console=True)
    record.created = days_ago(6, hours=23)
    local_now = NOW.astimezone(timezone(timedelta(hours=-8)))
    verdict = classify(record, ClassifyOptions(), local_now)
    assert (verdict.days_since_creation, verdict.status) == (6, "grace-period")


def test_check_options_names_the_culprit():
    assert check_options(ClassifyOptions()) == []
    assert check_options(ClassifyOptions(grace_period_days=-1, exempt_tag="")) == [
        "grace_period_days must be 0 or more, not -1",
        "exempt_tag must not be empty",
    ]


@pytest.mark.parametrize("name, users, include, selected", [
    ("bob", ("bob",), (), True),
    ("bob", ("alice",), (), False),
    ("svc-backup", ("svc-backup",), ("dev-*",), False),  # the operator's include_users still leaves it out
    ("svc-backup", ("svc-backup",), ("svc-*",), True),
])
def test_users_narrows_the_selection_as_include_users_would(name, users, include, selected):
    assert is_selected(name, ClassifyOptions(users=users, include_users=include)) is selected


@pytest.mark.parametrize("include, status", [((), "exempted"), (("svc-*",), "non-compliant"), (("svc-backup",), "non-compliant")])
def test_users_overrides_no_exclusion_that_include_users_does_not(include, status):
    """The MFA guard names one user with users: that user is classified as a run over the whole account classifies them."""
    record = user("svc-backup", console=True)
    whole_account = classify(record, ClassifyOptions(exclude_users=("svc-*",), include_users=include), NOW)
    one_user = classify(record, ClassifyOptions(exclude_users=("svc-*",), include_users=include, users=("svc-backup",)), NOW)
    assert whole_account.status == one_user.status == status
    assert classify(record, ClassifyOptions(exclude_users=("svc-*",), include_users=("svc-backup",)), NOW).status == "non-compliant"  # include overrides


def test_users_must_be_iam_user_names():
    assert check_options(ClassifyOptions(users=("bob", "svc-*", "{{ x }}"))) == [
        "users[1] is not an IAM user name (1 to 64 of letters, digits and +=,.@_-)",
        "users[2] is not an IAM user name (1 to 64 of letters, digits and +=,.@_-)"]
