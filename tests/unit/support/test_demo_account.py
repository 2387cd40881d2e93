# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The demo account's oracle pinned to literal counts, so that the oracle and the code cannot drift together unnoticed."""

from datetime import date

from tests.support.demo_account import demo_users, expected_counts, generated_users, SEED_USERS

TODAY = date(2026, 12, 1)  # after legacy.report's exemption (until 2020-01-01), before contractor.kim's (until 2099-12-31)


def test_the_seed_users_statuses():
    # john.doe and jane.smith have MFA; bob.wilson, alice.brown and old.account a password or an active key without it;
    # new.user is 2 days old (grace period of 7); svc-backup matches svc-*.
    counts, by_name = expected_counts(SEED_USERS, TODAY)
    assert counts == {"compliant": 2, "non-compliant": 3, "grace-period": 1, "exempted": 1}
    assert by_name == {"john.doe": "compliant", "jane.smith": "compliant", "bob.wilson": "non-compliant", "alice.brown": "non-compliant",
                       "new.user": "grace-period", "svc-backup": "exempted", "old.account": "non-compliant"}


def test_the_generated_users_statuses():
    # Worked out by hand from generated_users(): users 7, 18 and 33 are svc-* and 21 is contractor.kim (tag until 2099): 4 exempted.
    # Of the other 46, the 32 with i % 3 != 0 have an MFA device. Of the 14 without (0, 3, 6, 9, 12, 15, 24, 27, 30, 36, 39, 42,
    # 45, 48): 15 and 45 have neither a password (odd i) nor an active key (their only key, k = 0 with i % 5 == 0, is inactive),
    # so compliant; 48 is 3 days old, in its grace period; the 11 others are non-compliant.
    counts, by_name = expected_counts(generated_users(), TODAY)
    assert counts == {"compliant": 34, "non-compliant": 11, "grace-period": 1, "exempted": 4}
    assert by_name["legacy.report"] == "compliant"  # its expired tag does not exempt; i = 44 has an MFA device
    assert by_name["contractor.kim"] == "exempted"


def test_the_whole_demo_account_counts():
    counts, by_name = expected_counts(demo_users(), TODAY)
    assert len(by_name) == 57
    assert counts == {"compliant": 36, "non-compliant": 14, "grace-period": 2, "exempted": 5}
