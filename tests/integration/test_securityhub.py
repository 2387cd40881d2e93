# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The findings in AWS Security Hub, kept in step run after run: the report playbook with mfa_report_securityhub against
the moto server, which tests/support/aws_like.py makes answer as Security Hub does (filters, 100 findings a request,
the caller's own product, Security Hub enabled)."""

import json

import boto3
import pytest

from tests.integration.conftest import run
from tests.integration.guard import read_findings
from tests.integration.test_mfa_guard_attacks import account, by_hand, login_profile, received  # noqa: F401 pylint: disable=unused-import
from tests.integration.test_org_report import org, org_report  # noqa: F401 pylint: disable=unused-import
from tests.support.moto_server import ACCOUNT_ID, CREDENTIALS

OURS = {"GeneratorId": [{"Value": "awssec.mfa/", "Comparison": "PREFIX"}]}
SEVERITY = {"high": "HIGH", "medium": "MEDIUM", "low": "LOW"}


def hub(moto_server, region="us-east-1"):
    return boto3.client("securityhub", endpoint_url=moto_server.url, region_name=region,
                        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"], aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])


def everything(client, **filters):
    """Every finding of this collection in the hub, whatever its state, by Id (each Id once: a duplicate fails)."""
    found, token = [], None
    while True:
        answer = client.get_findings(Filters=dict(OURS, **filters), MaxResults=100, **({"NextToken": token} if token else {}))
        found += answer["Findings"]
        token = answer.get("NextToken")
        if not token:
            break
    by_id = {f["Id"]: f for f in found}
    assert len(by_id) == len(found), "a finding Id twice"
    return by_id


def expected_ids(facts):
    """One Id per user and reason, and per root reason, written out from the facts."""
    ids = {f"awssec.mfa/{facts['account_id']}/user/{u['username']}/{r}" for u in facts["users"] for r in u["reasons"]}
    return ids | {f"awssec.mfa/{facts['account_id']}/root/{r}" for r in facts["root"]["reasons"]}


def report(env, tmp_path, *args, check=True):
    saved = tmp_path / "facts.json"
    if saved.exists():
        saved.unlink()
    result = run(["ansible-playbook", "awssec.mfa.report", "-e", "mfa_report_securityhub=true", "-e", "mfa_report_source=live",
                  "-e", "mfa_report_formats=json", "-e", f"mfa_report_save_path={saved}", *args], env, check=check)
    return (json.loads(saved.read_text()) if saved.exists() else None), result.stdout


@pytest.mark.both_ends("module:iam_mfa_securityhub")
def test_findings_are_created_once_updated_and_archived_and_check_mode_sends_nothing(demo, env, tmp_path, moto_server):
    client = hub(moto_server)
    client.enable_security_hub()  # (not enabled: the guard's test sees Security Hub's refusal)

    # Check mode: the findings are read and compared, nothing is sent.
    said = report(env, tmp_path, "--check")[1]
    assert everything(client) == {}
    assert "would get: 99 created, 0 updated (0 with something new), 0 archived" in " ".join(said.split())

    facts, said = report(env, tmp_path)
    first = everything(client)
    assert set(first) == expected_ids(facts) and len(first) == 99
    assert "Security Hub (us-east-1): 99 created, 0 updated" in " ".join(said.split())
    users = {u["username"]: u for u in facts["users"]}
    for finding in first.values():
        assert finding["ProductArn"] == f"arn:aws:securityhub:us-east-1:{ACCOUNT_ID}:product/{ACCOUNT_ID}/default"
        assert finding["AwsAccountId"] == ACCOUNT_ID and finding["RecordState"] == "ACTIVE" and finding["Compliance"]["Status"] == "FAILED"
        reason = finding["Id"].rsplit("/", 1)[1]
        assert finding["GeneratorId"] == f"awssec.mfa/{reason}"
        resource = finding["Resources"][0]
        if "/root/" in finding["Id"]:
            assert resource == {"Type": "AwsAccount", "Id": f"AWS::::Account:{ACCOUNT_ID}", "Partition": "aws", "Region": "us-east-1"}
            continue
        user = users[finding["Id"].split("/")[3]]
        assert resource["Type"] == "AwsIamUser" and resource["Id"] == user["arn"]
        assert finding["Severity"]["Label"] == SEVERITY[user["risk"]]
        if user["status"] == "grace-period":
            assert f"{user['grace_days_remaining']} days left" in finding["Note"]["Text"]
        if user["status"] == "exempted":
            assert user["exemption"]["reason"] in finding["Note"]["Text"]
    assert {u["status"] for u in users.values() if any(f"/user/{u['username']}/" in i for i in first)} >= {"grace-period", "exempted"}

    # bob.wilson sets up MFA: his one finding (a console without MFA) no longer holds.
    assert {i for i in first if "/user/bob.wilson/" in i} == {f"awssec.mfa/{ACCOUNT_ID}/user/bob.wilson/console_without_mfa"}
    serial = demo.iam.create_virtual_mfa_device(VirtualMFADeviceName="bob.wilson")["VirtualMFADevice"]["SerialNumber"]
    demo.iam.enable_mfa_device(UserName="bob.wilson", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321")

    said = report(env, tmp_path, "--check", "--diff")[1]
    assert everything(client) == first
    assert "would get: 0 created, 98 updated (0 with something new), 1 archived" in " ".join(said.split())
    assert f"awssec.mfa/{ACCOUNT_ID}/user/bob.wilson/console_without_mfa" in said

    facts, said = report(env, tmp_path)
    second = everything(client)
    assert set(second) == set(first)  # nothing new, nothing twice
    bob = second.pop(f"awssec.mfa/{ACCOUNT_ID}/user/bob.wilson/console_without_mfa")
    assert (bob["RecordState"], bob["Compliance"]["Status"]) == ("ARCHIVED", "PASSED")
    assert bob["CreatedAt"] == first[bob["Id"]]["CreatedAt"] and bob["UpdatedAt"] > first[bob["Id"]]["UpdatedAt"]
    for finding_id, finding in second.items():
        assert (finding["RecordState"], finding["Compliance"]["Status"]) == ("ACTIVE", "FAILED")
        assert finding["CreatedAt"] == first[finding_id]["CreatedAt"] and finding["UpdatedAt"] > first[finding_id]["UpdatedAt"]
    assert set(second) == expected_ids(facts)
    assert "0 created, 98 updated (0 with something new), 1 archived" in " ".join(said.split())
    assert set(everything(client, RecordState=[{"Value": "ACTIVE", "Comparison": "EQUALS"}])) == expected_ids(facts)


def test_more_than_100_findings_go_in_batches_and_a_throttled_import_is_retried(demo, env, tmp_path, moto_server, aws_like):
    for number in range(10):
        demo.iam.create_user(UserName=f"extra.{number}")
        demo.iam.create_login_profile(UserName=f"extra.{number}", Password="Demo-password-1!")
    client = hub(moto_server)
    client.enable_security_hub()
    aws_like.configure(throttle=(1000.0, 0), throttle_actions=("BatchImportFindings",))  # the first import is throttled
    moto_server.reset_counts()
    facts, said = report(env, tmp_path)
    found = everything(client)
    assert set(found) == expected_ids(facts) and len(found) == 109
    assert aws_like.throttled["BatchImportFindings"] >= 1
    assert moto_server.actions["/findings/import"] == 2 + aws_like.throttled["BatchImportFindings"]  # 100, then 9
    assert "109 created" in said


@pytest.mark.parametrize("region, partition", [("us-gov-west-1", "aws-us-gov")])
def test_govcloud_findings_go_to_the_partitions_product(iam, env, tmp_path, moto_server, region, partition):
    gov = boto3.client("iam", endpoint_url=moto_server.url, region_name=region, aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    gov.create_user(UserName="gov.alice")
    gov.create_login_profile(UserName="gov.alice", Password="Demo-password-1!")
    client = hub(moto_server, region)
    client.enable_security_hub()
    env.update(AWS_DEFAULT_REGION=region, AWS_REGION=region)
    facts = report(env, tmp_path)[0]
    found = everything(client)
    assert set(found) == expected_ids(facts) and f"awssec.mfa/{ACCOUNT_ID}/user/gov.alice/console_without_mfa" in found
    for finding in found.values():
        assert finding["ProductArn"] == f"arn:{partition}:securityhub:{region}:{ACCOUNT_ID}:product/{ACCOUNT_ID}/default"
        assert finding["Resources"][0]["Partition"] == partition and finding["Resources"][0]["Region"] == region
    assert found[f"awssec.mfa/{ACCOUNT_ID}/user/gov.alice/console_without_mfa"]["Resources"][0]["Id"] == \
        f"arn:{partition}:iam::{ACCOUNT_ID}:user/gov.alice"


def member_hub(moto_server, account_id):
    role = boto3.client("sts", endpoint_url=moto_server.url, region_name="us-east-1", aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"]).assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole", RoleSessionName="test")["Credentials"]
    return boto3.client("securityhub", endpoint_url=moto_server.url, region_name="us-east-1", aws_access_key_id=role["AccessKeyId"],
                        aws_secret_access_key=role["SecretAccessKey"], aws_session_token=role["SessionToken"])


def test_an_organizations_findings_go_to_each_accounts_own_hub_or_to_the_administrators(org, env, moto_server):
    members, inventory = org
    broken = members[5]
    hubs = {m.account_id: member_hub(moto_server, m.account_id) for m in members}
    hubs[ACCOUNT_ID] = hub(moto_server)
    for client in hubs.values():
        client.enable_security_hub()
    # An earlier run's finding in the account that cannot be reached this time: it must stay as it is.
    earlier = f"awssec.mfa/{broken.account_id}/user/gone.user/console_without_mfa"
    stamp = "2026-01-01T00:00:00.000Z"
    hubs[broken.account_id].batch_import_findings(Findings=[{
        "SchemaVersion": "2018-10-08", "Id": earlier, "GeneratorId": "awssec.mfa/console_without_mfa", "AwsAccountId": broken.account_id,
        "ProductArn": f"arn:aws:securityhub:us-east-1:{broken.account_id}:product/{broken.account_id}/default", "Types": ["x/y"],
        "CreatedAt": stamp, "UpdatedAt": stamp, "Severity": {"Label": "HIGH"}, "Title": "t", "Description": "d", "RecordState": "ACTIVE",
        "Resources": [{"Type": "AwsIamUser", "Id": f"arn:aws:iam::{broken.account_id}:user/gone.user"}]}])
    moto_server.before("AssumeRole", lambda p: (403, "AccessDenied", "not authorized to assume the role")
                       if broken.account_id in p.get("RoleArn", "") else None)

    extra = {"mfa_report_aws_endpoint_url": moto_server.url, "mfa_report_formats": ["json"], "mfa_report_securityhub": True}
    facts = org_report(inventory, env, extra)[1]
    by_account = {}
    for user in facts["users"]:
        by_account.setdefault(user["account_id"], set()).update(f"awssec.mfa/{user['account_id']}/user/{user['username']}/{r}"
                                                                for r in user["reasons"])
    for row in facts["accounts"]:
        if row["status"] == "ok":
            by_account.setdefault(row["account_id"], set()).update(f"awssec.mfa/{row['account_id']}/root/{r}" for r in row["root"]["reasons"])
    assert broken.account_id not in by_account and len(by_account) == len(members)  # the management account and 5 members
    for account_id, expected in by_account.items():
        found = everything(hubs[account_id])
        assert set(found) == expected, account_id
        assert {f["AwsAccountId"] for f in found.values()} == {account_id}
    assert set(everything(hubs[broken.account_id])) == {earlier}
    assert everything(hubs[broken.account_id])[earlier]["RecordState"] == "ACTIVE"

    # To one administrator account instead: every reported account's findings in the run's own account's hub.
    org_report(inventory, env, dict(extra, mfa_report_securityhub_destination="administrator"))
    collected = everything(hubs[ACCOUNT_ID])
    assert set(collected) == set().union(*by_account.values())
    assert {f["AwsAccountId"] for f in collected.values()} == {ACCOUNT_ID}
    assert {f["ProductFields"]["awssec.mfa/account_id"] for f in collected.values()} == set(by_account)
    for account_id in by_account:
        if account_id != ACCOUNT_ID:  # their own hubs keep what the first run sent
            assert set(everything(hubs[account_id])) == by_account[account_id]


def test_the_guard_sends_the_findings_of_the_users_it_reads_and_acts_even_when_security_hub_fails(account, env, tmp_path, moto_server):
    sqs, url = account
    settings = {"mfa_guard_securityhub": True}
    failed = by_hand(env, tmp_path, received(sqs, url, login_profile("pat.new")), settings=settings)
    assert failed.returncode == 0, failed.stdout
    assert "Security Hub was not told - " in failed.stdout and "not subscribed to AWS Security Hub" in failed.stdout
    [finding] = read_findings(tmp_path / "findings.jsonl")
    assert finding["act"] and finding["changed"]  # enforced all the same

    client = hub(moto_server)
    client.enable_security_hub()
    stamp = "2026-01-01T00:00:00.000Z"
    earlier = [{"SchemaVersion": "2018-10-08", "Id": f"awssec.mfa/{ACCOUNT_ID}/user/{name}/{reason}", "GeneratorId": f"awssec.mfa/{reason}",
                "AwsAccountId": ACCOUNT_ID, "ProductArn": f"arn:aws:securityhub:us-east-1:{ACCOUNT_ID}:product/{ACCOUNT_ID}/default",
                "Types": ["x/y"], "CreatedAt": stamp, "UpdatedAt": stamp, "Severity": {"Label": "HIGH"}, "Title": "t", "Description": "d",
                "RecordState": "ACTIVE", "Resources": [{"Type": "AwsIamUser", "Id": f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"}]}
               for name, reason in (("pat.new", "unused_credentials"), ("dora.lost", "key_older_than_max_age"))]
    client.batch_import_findings(Findings=earlier)
    result = by_hand(env, tmp_path, received(sqs, url, login_profile("pat.new")), settings=settings)
    assert result.returncode == 0, result.stdout
    assert "Security Hub: 2 created, 0 updated, 1 archived" in result.stdout, result.stdout
    found = everything(client)
    assert found[f"awssec.mfa/{ACCOUNT_ID}/root/root_without_mfa"]["RecordState"] == "ACTIVE"  # the root user is read too
    assert found[f"awssec.mfa/{ACCOUNT_ID}/user/pat.new/console_without_mfa"]["RecordState"] == "ACTIVE"
    assert found[f"awssec.mfa/{ACCOUNT_ID}/user/pat.new/unused_credentials"]["RecordState"] == "ARCHIVED"
    assert found[f"awssec.mfa/{ACCOUNT_ID}/user/dora.lost/key_older_than_max_age"]["RecordState"] == "ACTIVE"  # not read: not judged
