# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""An AWS Organization on the moto server: the management account (moto's default) and member accounts with users.

Members are created with organizations:CreateAccount; their users through the role
OrganizationAccountAccessRole (moto lets any role be assumed), so each account holds its own users.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Dict, List

import boto3

from tests.support.demo_account import DemoUser, create_user, expected_counts, generated_users
from tests.support.moto_server import CREDENTIALS

ROLE_NAME = "OrganizationAccountAccessRole"


@dataclass
class Member:
    account_id: str
    name: str
    users: List[DemoUser]

    def expected(self, today) -> Dict[str, int]:
        return expected_counts(self.users, today, exclude=())[0]


def client(url: str, service: str, credentials=None):
    keys = credentials or {"AccessKeyId": CREDENTIALS["AWS_ACCESS_KEY_ID"], "SecretAccessKey": CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}
    return boto3.client(service, endpoint_url=url, region_name="us-east-1", aws_access_key_id=keys["AccessKeyId"],
                        aws_secret_access_key=keys["SecretAccessKey"], aws_session_token=keys.get("SessionToken"))


def member_users(index: int, count: int) -> List[DemoUser]:
    """``count`` users, different in each account (names carry the index, the mix shifts with it)."""
    pool = generated_users()
    users = []
    for n in range(count):
        template = pool[(index * 7 + n) % len(pool)]
        users.append(DemoUser(f"{template.name}-{index}-{n}", template.age_days, template.mfa, template.console,
                              template.password_used_days_ago, list(template.keys), {}))
    return users


def seed_organization(url: str, members: int, users_of=lambda index: 3 + index) -> List[Member]:
    """Create the Organization and ``members`` accounts named member-NN, each with ``users_of(index)`` users."""
    now = datetime.now(timezone.utc)
    organizations = client(url, "organizations")
    organizations.create_organization(FeatureSet="ALL")
    sts = client(url, "sts")
    created = []
    for index in range(members):
        name = f"member-{index:02d}"
        account_id = organizations.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]["AccountId"]
        role = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/{ROLE_NAME}", RoleSessionName="seed")["Credentials"]
        iam = client(url, "iam", role)
        users = member_users(index, users_of(index))
        for number, user in enumerate(users):
            create_user(iam, user, now, number, account_id)
        created.append(Member(account_id, name, users))
    return created


def management(server) -> Dict:
    """The Organization's management account (moto's default account, whose credentials the runs use)."""
    organizations = client(server.url, "organizations")
    master = organizations.describe_organization()["Organization"]["MasterAccountId"]
    return next(a for a in organizations.list_accounts()["Accounts"] if a["Id"] == master)
