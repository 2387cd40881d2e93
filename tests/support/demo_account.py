# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The demo account: the users of the seed's example report and 50 more.

Users are created through the IAM API of a moto server; creation, key and last-use dates
are then set back through moto's in-process backend so that every age is real.
Each user carries the status the demo expects, worked out here from what was created
(never by the collection's own code), so that tests and ``make demo`` can check the report.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Dict, List, Optional, Tuple

from moto.iam.models import AccessKeyLastUsed

from tests.support.aws_like import partition_of_region
from tests.support.moto_server import ACCOUNT_ID, iam_backend

EXCLUDE_USERS = ["svc-*"]
GRACE_PERIOD_DAYS = 7
EXEMPT_TAG = "mfa-exempt"


@dataclass
class Key:
    age_days: int
    active: bool = True
    used_days_ago: Optional[int] = None


@dataclass
class DemoUser:
    name: str
    age_days: int
    mfa: Optional[str] = None  # None, "virtual" or "hardware"
    console: bool = False
    password_used_days_ago: Optional[int] = None
    keys: List[Key] = field(default_factory=list)
    tags: Dict[str, str] = field(default_factory=dict)

    def expected_status(self, today, exclude=tuple(EXCLUDE_USERS)) -> str:
        """What the demo expects, from what it created: the rules of the README's Statuses table, written out plainly."""
        tag = self.tags.get(EXEMPT_TAG)
        tag_valid = tag is not None and not ("until=" in tag and tag.split("until=")[1][:10] < today.isoformat())
        if any(fnmatch.fnmatchcase(self.name, p) for p in exclude) or tag_valid:
            return "exempted"
        if self.mfa or not (self.console or any(k.active for k in self.keys)):
            return "compliant"
        return "grace-period" if self.age_days < GRACE_PERIOD_DAYS else "non-compliant"


# The users of the seed's example report, as it describes them.
SEED_USERS = [
    DemoUser("john.doe", 700, "virtual", True, 2, [Key(30, True, 1), Key(200, True, 5)]),
    DemoUser("jane.smith", 500, "hardware", True, 3, [Key(60, True, 2)]),
    DemoUser("bob.wilson", 300, None, True, 7),
    DemoUser("alice.brown", 250, None, False, None, [Key(100, True, 5)]),
    DemoUser("new.user", 2, None, True, None),
    DemoUser("svc-backup", 900, None, False, None, [Key(400, True, 1)]),
    DemoUser("old.account", 2500, None, True, 600, [Key(2000, True, None), Key(1500, False, 700)]),
]

_FIRST = ["ana", "ben", "carla", "dev", "eli", "fay", "gus", "hana", "ivan", "jo"]
_LAST = ["garcia", "ng", "patel", "smith", "okafor"]
_SPECIAL_NAMES = {7: "svc-monitoring", 18: "svc-deploy", 33: "svc-etl", 21: "contractor.kim", 44: "legacy.report"}
_SPECIAL_TAGS = {
    "contractor.kim": {EXEMPT_TAG: "external auditor, no MFA device issued; until=2099-12-31"},
    "legacy.report": {EXEMPT_TAG: "old reporting job; until=2020-01-01"},  # expired: no longer exempts
}
_AGES = [400, 1200, 35, 800, 90, 2000, 150, 60, 3, 500]
_KEY_AGES = [3, 45, 120, 400, 1100]


def generated_users() -> List[DemoUser]:
    """50 users covering every combination the report distinguishes, deterministically."""
    users = []
    for i in range(50):
        name = _SPECIAL_NAMES.get(i, f"{_FIRST[i % 10]}.{_LAST[i // 10]}")
        age = _AGES[i % 10]
        mfa = None if i % 3 == 0 else ("hardware" if i % 4 == 2 else "virtual")
        console = i % 2 == 0
        password_used = None if (not console or i % 6 == 0) else min(age, [2, 20, 100][i % 3])
        keys = []
        for k in range([0, 1, 2, 1][i % 4]):
            key_age = min(age, _KEY_AGES[(i + k) % 5])
            used = None if (i + k) % 3 == 0 else min(key_age, [1, 10, 60][(i + k) % 3])
            keys.append(Key(key_age, not (i % 5 == 0 and k == 0), used))
        users.append(DemoUser(name, age, mfa, console, password_used, keys, dict(_SPECIAL_TAGS.get(name, {}))))
    return users


def demo_users() -> List[DemoUser]:
    return SEED_USERS + generated_users()


def _naive_utc(when: datetime) -> datetime:
    # moto keeps naive UTC datetimes.
    return when.astimezone(timezone.utc).replace(tzinfo=None)


def create_user(iam, user: DemoUser, now: datetime, serial_number: int = 0, account_id: str = ACCOUNT_ID) -> None:
    """Create ``user`` through the API (in the account ``iam`` reaches), then set its dates back in moto's backend."""
    iam.create_user(UserName=user.name, Tags=[{"Key": k, "Value": v} for k, v in user.tags.items()])
    if user.console:
        iam.create_login_profile(UserName=user.name, Password="Demo-password-1!")
    if user.mfa == "virtual":
        serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=user.name)["VirtualMFADevice"]["SerialNumber"]
    elif user.mfa == "hardware":
        serial = f"GAHT{serial_number:08d}"
    if user.mfa:
        iam.enable_mfa_device(UserName=user.name, SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321")
    key_ids = []
    for key in user.keys:
        key_id = iam.create_access_key(UserName=user.name)["AccessKey"]["AccessKeyId"]
        if not key.active:
            iam.update_access_key(UserName=user.name, AccessKeyId=key_id, Status="Inactive")
        key_ids.append(key_id)
    set_dates(user, now, key_ids, account_id, partition_of_region(iam.meta.region_name))


def console_users_with_devices(iam, devices: Dict[str, Optional[str]]) -> None:
    """Users with a console password and, per ``devices``, an MFA device: a serial (a TOTP token's such as GAHT00000001,
    or a security key's ARN with ``:u2f/``), ``"virtual"`` (a virtual device made for the user) or None (no MFA)."""
    for name, serial in devices.items():
        iam.create_user(UserName=name)
        iam.create_login_profile(UserName=name, Password="Pass-word-1!")
        if serial == "virtual":
            serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]["SerialNumber"]
        if serial:
            iam.enable_mfa_device(UserName=name, SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321")


def set_dates(user: DemoUser, now: datetime, key_ids: List[str], account_id: str = ACCOUNT_ID, partition: str = "aws") -> None:
    backend_user = iam_backend(account_id, partition).users[user.name]
    backend_user.create_date = _naive_utc(now - timedelta(days=user.age_days))
    if user.password_used_days_ago is not None:
        backend_user.password_last_used = _naive_utc(now - timedelta(days=user.password_used_days_ago))
    by_id = {key.access_key_id: key for key in backend_user.access_keys}
    for spec, key_id in zip(user.keys, key_ids):
        backend_key = by_id[key_id]
        backend_key.create_date = _naive_utc(now - timedelta(days=spec.age_days))
        if spec.used_days_ago is not None:
            backend_key.last_used = AccessKeyLastUsed(
                timestamp=_naive_utc(now - timedelta(days=spec.used_days_ago)), service="iam", region="us-east-1"
            )


def seed_demo_account(iam, now: Optional[datetime] = None) -> List[DemoUser]:
    """Create the demo users in the account ``iam`` talks to; returns them."""
    now = now or datetime.now(timezone.utc)
    users = demo_users()
    for number, user in enumerate(users):
        create_user(iam, user, now, number)
    return users


def expected_counts(users: List[DemoUser], today, exclude=tuple(EXCLUDE_USERS)) -> Tuple[Dict[str, int], Dict[str, str]]:
    """(count per status, status per user name) that the demo expects."""
    by_name = {user.name: user.expected_status(today, exclude) for user in users}
    counts = {status: 0 for status in ("compliant", "non-compliant", "grace-period", "exempted")}
    for status in by_name.values():
        counts[status] += 1
    return counts, by_name
