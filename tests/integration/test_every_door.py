# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Every door gives one answer: the report and enforce playbooks over the aws_accounts inventory work in each host's own
account (never the controller's for another host), and no secret of any account reaches the output, even at -vvv."""

import json

import boto3
import pytest

from tests.integration.conftest import run
from tests.integration.test_enforce_playbook import account_state
# The fixture: a moto Organization and its aws_accounts inventory.
from tests.integration.test_org_report import FORKS, org  # noqa: F401 pylint: disable=unused-import
from tests.support.demo_account import expected_counts
from tests.support.organization import ROLE_NAME, client, management


def _member_iam(url, account_id):
    role = client(url, "sts").assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/{ROLE_NAME}", RoleSessionName="check")["Credentials"]
    return client(url, "iam", role)


def _playbook(name, inventory, env, extra, *flags, check=True):
    process = run(["ansible-playbook", "-i", str(inventory), f"awssec.mfa.{name}", "-f", FORKS, "-e", "target=aws_accounts",
                   "-e", json.dumps(extra), *flags], dict(env, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json"), check=check)
    return process, json.loads(process.stdout)["plays"][0]["tasks"] if process.stdout.lstrip().startswith("{") else []


def _results(tasks, name):
    return next(t["hosts"] for t in tasks if name in t["task"]["name"])


def test_the_report_playbook_over_the_accounts_inventory_reports_each_hosts_own_account(org, env, moto_server, demo_today, tmp_path):  # noqa: F811
    members, inventory = org
    dummy, tasks = _playbook("report", inventory, env, {"mfa_report_aws_endpoint_url": moto_server.url, "mfa_report_formats": ["json"],
                                                        "mfa_report_save_path": str(tmp_path / "{{ inventory_hostname }}.json")})
    facts = {host: result["ansible_facts"]["iam_mfa"] for task in tasks for host, result in task["hosts"].items()
             if "iam_mfa" in result.get("ansible_facts", {})}
    assert len(facts) == len(members) + 1  # and the management account, with the run's credentials
    for member in members:
        assert facts[member.name]["account_id"] == member.account_id
        assert facts[member.name]["summary"]["counts"] == member.expected(demo_today), member.name
        assert json.loads((tmp_path / f"{member.name}.json").read_text())["account_id"] == member.account_id
    boss = management(moto_server)
    assert facts[boss["Name"]]["account_id"] == boss["Id"] and facts[boss["Name"]]["summary"]["total"] == 0


def test_the_enforce_playbook_over_the_accounts_inventory_acts_in_each_hosts_own_account(org, env, moto_server, iam, demo_today):  # noqa: F811
    members, inventory = org
    extra = {"mfa_enforce_aws_endpoint_url": moto_server.url, "mfa_enforce_max_affected": 50}
    before = {m.name: account_state(_member_iam(moto_server.url, m.account_id)) for m in members}
    home, boss = account_state(iam), management(moto_server)["Id"]
    dummy, preview = _playbook("enforce", inventory, env, extra, "--check")
    assert {m.name: account_state(_member_iam(moto_server.url, m.account_id)) for m in members} == before and account_state(iam) == home
    plans = _results(preview, "Enforce MFA on non-compliant IAM users")
    for member in members:
        plan = plans[member.name]
        targets = {name for name, status in expected_counts(member.users, demo_today, exclude=())[1].items() if status == "non-compliant"}
        assert {a["username"] for a in plan["actions"] if a["actions"]} == targets, member.name
        assert f":{member.account_id}:policy/" in plan["policy_arn"], member.name  # the member's own policy, not the controller's

    assert sum(bool(p["actions"]) for p in plans.values()) >= len(members) // 2
    dummy, applied = _playbook("enforce", inventory, env, extra)
    for member in members:
        after = account_state(_member_iam(moto_server.url, member.account_id))
        targets = {a["username"] for a in _results(applied, "Enforce MFA on non-compliant IAM users")[member.name]["actions"] if a["actions"]}
        assert all("awssec:mfa-enforced-at" in after["users"][name]["tags"] for name in targets), member.name
        assert (after["users"] != before[member.name]["users"]) == bool(targets), member.name
        assert set(after["policies"]) <= {f"arn:aws:iam::{member.account_id}:policy/RequireMFA"}
    # The management account is a host too (with the run's credentials): its own policy, none of the members' actions.
    assert account_state(iam)["users"] == home["users"] == {} and set(account_state(iam)["policies"]) == {f"arn:aws:iam::{boss}:policy/RequireMFA"}


def test_a_host_whose_credentials_reach_another_account_fails_and_nothing_is_read_or_changed(moto_server, iam, env, tmp_path):
    iam.create_user(UserName="alice")
    iam.create_login_profile(UserName="alice", Password="Pass-word-1!")
    inventory = tmp_path / "static.aws_accounts.yml"
    inventory.write_text("plugin: awssec.mfa.aws_accounts\naccounts:\n  - id: '111111111111'\n    name: other\n")
    home = account_state(iam)
    for name, prefix in (("enforce", "mfa_enforce"), ("report", "mfa_report")):
        moto_server.reset_counts()
        process, dummy = _playbook(name, inventory, env, {f"{prefix}_aws_endpoint_url": moto_server.url, f"{prefix}_grace_period_days": 0},
                                   check=False)
        assert process.returncode != 0
        assert "The credentials for other reach account 123456789012, not its account_id 111111111111" in process.stdout, name
        assert set(moto_server.actions) == {"GetCallerIdentity", "ListAccountAliases"}, name  # who the credentials reach; nothing more
    assert account_state(iam) == home


def _secrets(url):
    """Every secret key and session token moto handed out (the assumed roles' included)."""
    from moto.sts.models import sts_backends

    found = set()
    for account in list(sts_backends):
        for backend in sts_backends[account].values():
            for role in getattr(backend, "assumed_roles", []):
                found |= {role.secret_access_key, role.session_token}
    return {secret for secret in found if secret}


@pytest.mark.parametrize("name", ["org_report hosts", "org_report module", "report", "enforce"])
def test_no_secret_of_any_account_reaches_the_output_at_vvv(org, env, moto_server, name):  # noqa: F811
    members, inventory = org
    playbook, dummy, fanout = name.partition(" ")
    prefix = "mfa_enforce" if playbook == "enforce" else "mfa_report"
    extra = {f"{prefix}_aws_endpoint_url": moto_server.url, "mfa_report_fanout": fanout or "module", "mfa_report_formats": ["json"]}
    args = ["ansible-playbook", "-vvv", "-i", str(inventory), f"awssec.mfa.{playbook}", "-f", FORKS, "-e", json.dumps(extra)]
    if playbook != "org_report":
        args += ["-e", "target=aws_accounts", "--check"]
    process = run(args, env)
    secrets = _secrets(moto_server.url)
    assert len(secrets) >= 2 * len(members)  # every member's role was assumed
    output = process.stdout + process.stderr
    leaked = [secret[:6] for secret in secrets if secret in output]
    assert not leaked, f"{len(leaked)} secrets printed by {name}"


def _account(url, region):
    """Users of each kind, in the account that requests signed for ``region`` reach (its partition's)."""
    from tests.support.moto_server import CREDENTIALS

    iam = boto3.client("iam", endpoint_url=url, region_name=region, aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    for name, console, keys, device, tags in (("con", True, 0, None, {}), ("key", False, 1, None, {}), ("both", True, 2, None, {}),
                                              ("virt", True, 1, "virtual", {}), ("hard", True, 0, "GAHT00000003", {}),
                                              ("exempt", True, 0, None, {"mfa-exempt": "robot"}), ("bare", False, 0, None, {})):
        iam.create_user(UserName=name, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
        if console:
            iam.create_login_profile(UserName=name, Password="Initial-Passw0rd!")
        for dummy in range(keys):
            iam.create_access_key(UserName=name)
        if device == "virtual":
            device = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]["SerialNumber"]
        if device:
            iam.enable_mfa_device(UserName=name, SerialNumber=device, AuthenticationCode1="123456", AuthenticationCode2="654321")
    return iam


def _statuses(users):
    return {u["username"]: (u["status"], u["reasons"]) for u in users}


@pytest.mark.parametrize("region, partition", [("us-east-1", "aws"), ("us-gov-west-1", "aws-us-gov")])
def test_every_door_gives_the_same_statuses_plans_and_policy(moto_server, iam, env, tmp_path, monkeypatch, region, partition):
    """The module, the report and enforce playbooks on localhost and over the accounts inventory, iam_mfa_org_facts,
    org_report in both fan-outs, the command line and the Python API, on one account: one answer."""
    from awssec.tools.iam_mfa import enforce_mfa_compliance, generate_mfa_report
    from tests.integration.conftest import adhoc_result
    from tests.integration.test_cli import awssec
    from tests.integration.test_enforce_playbook import enforce, planned

    gov = _account(moto_server.url, region)
    account = "123456789012"
    inventory = tmp_path / "one.aws_accounts.yml"
    inventory.write_text(f"plugin: awssec.mfa.aws_accounts\naccounts:\n  - id: '{account}'\n    name: main\n")
    for name, value in env.items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    report_vars = {"mfa_report_grace_period_days": 0, "mfa_report_aws_region": region, "mfa_report_formats": ["json"]}

    statuses = {}
    facts = adhoc_result(run(["ansible", "localhost", "-m", "awssec.mfa.iam_mfa_facts", "-a", f"grace_period_days=0 region={region}"],
                             env).stdout)["ansible_facts"]["iam_mfa"]
    statuses["module"] = _statuses(facts["users"])
    assert facts["partition"] == partition
    saved = tmp_path / "local.json"
    run(["ansible-playbook", "awssec.mfa.report", "-e", json.dumps(dict(report_vars, mfa_report_save_path=str(saved)))], env)
    statuses["report playbook"] = _statuses(json.loads(saved.read_text())["users"])
    _playbook("report", inventory, env, dict(report_vars, mfa_report_save_path=str(tmp_path / "{{ inventory_hostname }}.json")))
    statuses["report playbook, accounts inventory"] = _statuses(json.loads((tmp_path / "main.json").read_text())["users"])
    org = adhoc_result(run(["ansible", "localhost", "-m", "awssec.mfa.iam_mfa_org_facts", "-a", json.dumps(
        {"accounts": [{"id": account, "name": "main"}], "grace_period_days": 0, "region": region})], env).stdout)["ansible_facts"]["iam_mfa"]
    statuses["iam_mfa_org_facts"] = _statuses(org["users"])
    for fanout in ("module", "hosts"):
        path = tmp_path / f"org-{fanout}.json"
        run(["ansible-playbook", "-i", str(inventory), "awssec.mfa.org_report", "-e",
             json.dumps(dict(report_vars, mfa_report_fanout=fanout, mfa_report_save_path=str(path)))], env)
        statuses[f"org_report {fanout}"] = _statuses(json.loads(path.read_text())["users"])
    statuses["command line"] = _statuses(json.loads(awssec(env, "iam-mfa", "report", "--output", "json", "--grace-period-days", "0",
                                                           "--region", region).stdout)["users"])
    statuses["Python API"] = _statuses(generate_mfa_report("json", grace_period_days=0, region=region)["users"])
    want = statuses["module"]
    assert {s for s, dummy in want.values()} == {"compliant", "non-compliant", "exempted"}
    assert {door: got for door, got in statuses.items() if got != want} == {}

    # The policy document: the command line writes it (acting on nobody: bare has no credential); every door must find it
    # its own (policy_change none), as a door that builds another document would rewrite it.
    awssec(env, "iam-mfa", "enforce", "--apply", "--include-users", "bare", "--grace-period-days", "0", "--region", region)
    written = gov.list_policies(Scope="Local")["Policies"]
    assert [p["Arn"] for p in written] == [f"arn:{partition}:iam::{account}:policy/RequireMFA"]
    plans, arns, changes = {}, {}, {}
    enforce_vars = {"mfa_enforce_grace_period_days": 0, "mfa_enforce_aws_region": region, "mfa_enforce_max_affected": 50}
    local, dummy, dummy = enforce(moto_server, env, "--check", **enforce_vars)
    plans["enforce playbook"], arns["enforce playbook"], changes["enforce playbook"] = planned(local), local["policy_arn"], local["policy_change"]
    dummy, tasks = _playbook("enforce", inventory, env, dict(enforce_vars, mfa_enforce_aws_endpoint_url=moto_server.url), "--check")
    over = _results(tasks, "Enforce MFA on non-compliant IAM users")["main"]
    door = "enforce playbook, accounts inventory"
    plans[door], arns[door], changes[door] = planned(over), over["policy_arn"], over["policy_change"]
    saved = tmp_path / "plan.json"
    awssec(env, "iam-mfa", "enforce", "--dry-run", "--grace-period-days", "0", "--max-affected", "50", "--region", region,
           "--output", "json", "--save-report", str(saved))
    cli = json.loads(saved.read_text())
    plans["command line"], arns["command line"], changes["command line"] = planned(cli), cli["policy_arn"], cli["policy_change"]
    api = enforce_mfa_compliance(dry_run=True, grace_period_days=0, max_affected=50, region=region)
    plans["Python API"], arns["Python API"], changes["Python API"] = planned(api), api["policy_arn"], api["policy_change"]
    assert set(plans["enforce playbook"]) == {"con", "key", "both"}
    assert {door: plan for door, plan in plans.items() if plan != plans["enforce playbook"]} == {}
    assert set(arns.values()) == {f"arn:{partition}:iam::{account}:policy/RequireMFA"}
    assert changes == dict.fromkeys(changes, "none")  # one document, in the account's partition
    version = gov.get_policy_version(PolicyArn=arns["Python API"], VersionId="v1")["PolicyVersion"]["Document"]
    assert {s["Resource"] for s in version["Statement"]} - {"*"} == {f"arn:{partition}:iam::*:mfa/*", f"arn:{partition}:iam::*:user/${{aws:username}}"}
    assert gov.list_policies(Scope="Local")["Policies"] == written  # every door previewed; nothing else was made
