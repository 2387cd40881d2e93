# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import boto3
import pytest
import yaml
from moto import mock_aws

from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader

STATIC = [
    {"id": "111111111111", "name": "prod", "role_arn": "arn:aws:iam::111111111111:role/SecurityAudit"},
    {"id": "222222222222", "name": "dev-sandbox", "profile": "dev-admin", "email": "dev@example.com"},
    {"id": "333333333333"},
]


@pytest.fixture
def plugin(aws_env):  # pylint: disable=unused-argument  # the fake credentials and files it reads
    return inventory_loader.get("awssec.mfa.aws_accounts")


def parse(plugin, tmp_path, name="static.aws_accounts.yml", **options):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(dict({"plugin": "awssec.mfa.aws_accounts"}, **options)))
    inventory = InventoryData()
    plugin.parse(inventory, DataLoader(), str(path), cache=False)
    return inventory


def hostvars(inventory, name):
    host = inventory.get_host(name)
    return {k: v for k, v in host.vars.items() if k in ("account_id", "account_name", "account_email", "role_arn", "aws_profile", "ansible_connection")}


@pytest.mark.parametrize("name, accepted", [
    ("static.aws_accounts.yml", True), ("aws_accounts.yaml", True), ("static.yml", False), ("aws_accounts.yml.bak", False),
])
def test_verify_file_wants_the_suffix(plugin, tmp_path, name, accepted):
    path = tmp_path / name
    path.write_text("plugin: awssec.mfa.aws_accounts\n")
    assert bool(plugin.verify_file(str(path))) is accepted


def test_static_accounts_become_hosts_named_after_the_account(plugin, tmp_path):
    inventory = parse(plugin, tmp_path, accounts=STATIC)
    assert sorted(h.name for h in inventory.groups["aws_accounts"].get_hosts()) == ["333333333333", "dev-sandbox", "prod"]
    assert hostvars(inventory, "prod") == {"account_id": "111111111111", "account_name": "prod", "account_email": None,
                                           "role_arn": "arn:aws:iam::111111111111:role/SecurityAudit", "aws_profile": "", "ansible_connection": "local"}
    assert hostvars(inventory, "dev-sandbox") == {"account_id": "222222222222", "account_name": "dev-sandbox", "account_email": "dev@example.com",
                                                  "role_arn": "", "aws_profile": "dev-admin", "ansible_connection": "local"}
    assert hostvars(inventory, "333333333333")["account_name"] == "333333333333"


def test_hostnames_id_and_constructed_groups(plugin, tmp_path):
    inventory = parse(plugin, tmp_path, accounts=STATIC, hostnames="id",
                      keyed_groups=[{"key": "account_name.split('-')[0]", "prefix": "env"}],
                      groups={"through_profile": "aws_profile != ''"}, compose={"short": "account_id[:3]"})
    assert sorted(h.name for h in inventory.groups["aws_accounts"].get_hosts()) == ["111111111111", "222222222222", "333333333333"]
    assert [h.name for h in inventory.groups["env_dev"].get_hosts()] == ["222222222222"]
    assert [h.name for h in inventory.groups["env_prod"].get_hosts()] == ["111111111111"]
    assert [h.name for h in inventory.groups["through_profile"].get_hosts()] == ["222222222222"]
    assert inventory.get_host("333333333333").vars["short"] == "333"


@pytest.mark.parametrize("accounts, message", [
    ([{"id": "12345"}], "awssec.mfa.aws_accounts: accounts[1]: id must be 12 digits, got '12345'"),
    ([{"id": "111111111111"}, {"id": "222222222222", "role_arn": "arn:x", "profile": "p"}],
     "awssec.mfa.aws_accounts: accounts[2] (222222222222): give role_arn or profile, not both"),
    ([{"id": "111111111111", "nmae": "typo"}], "awssec.mfa.aws_accounts: accounts[1] (111111111111): unknown keys ['nmae']"),
])
def test_a_wrong_account_is_a_parser_error(plugin, tmp_path, accounts, message):
    with pytest.raises(AnsibleParserError) as error:
        parse(plugin, tmp_path, accounts=accounts)
    assert str(error.value).startswith(message)


def test_organization_accounts_in_moto(plugin, tmp_path):
    with mock_aws():
        organizations = boto3.client("organizations")
        organizations.create_organization(FeatureSet="ALL")
        created = organizations.create_account(AccountName="member-one", Email="member@example.com")["CreateAccountStatus"]["AccountId"]
        inventory = parse(plugin, tmp_path, organization=True, role_name="AuditRole", hostnames="id",
                          accounts=[{"id": "444444444444", "name": "outside"}])
    hosts = sorted(h.name for h in inventory.groups["aws_accounts"].get_hosts())
    # moto's caller, 123456789012, is the management account: reached with the run's credentials, no role.
    assert hosts == sorted(["123456789012", created, "444444444444"])
    assert hostvars(inventory, "123456789012")["role_arn"] == ""
    assert hostvars(inventory, created) == {"account_id": created, "account_name": "member-one", "account_email": "member@example.com",
                                            "role_arn": f"arn:aws:iam::{created}:role/AuditRole", "aws_profile": "", "ansible_connection": "local"}


def test_organization_without_the_management_account(plugin, tmp_path):
    with mock_aws():
        organizations = boto3.client("organizations")
        organizations.create_organization(FeatureSet="ALL")
        created = organizations.create_account(AccountName="member-one", Email="member@example.com")["CreateAccountStatus"]["AccountId"]
        inventory = parse(plugin, tmp_path, organization=True, include_management_account=False)
    assert [h.name for h in inventory.groups["aws_accounts"].get_hosts()] == ["member-one"]
    assert inventory.get_host("member-one").vars["account_id"] == created
