# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The aws_accounts inventory and the org_report playbook on a moto Organization of 6 member accounts."""

import csv
import io
import json
import re
import shutil
import subprocess

import pytest

from tests.integration.conftest import adhoc_result, run
from tests.support.organization import management, seed_organization

# Six members (seven hosts with the management account) and four forks: the hosts' tasks run in two rounds of forks, and
# member-05 is the one that fails. More members add time (each host runs a module), not cases: bench/org_scale.py times hundreds.
MEMBERS = 6
FORKS = "4"


@pytest.fixture
def org(moto_server, iam, tmp_path):
    members = seed_organization(moto_server.url, MEMBERS)
    inventory = tmp_path / "org.aws_accounts.yml"
    inventory.write_text(
        "plugin: awssec.mfa.aws_accounts\norganization: true\n"
        f"endpoint_url: {moto_server.url}\nregion: us-east-1\n"
        f"cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: {tmp_path / 'cache'}\ncache_timeout: 600\n"
        "keyed_groups:\n  - key: account_name.split('-')[0]\n    prefix: kind\n")
    yield members, inventory
    moto_server.clear_hooks()


@pytest.mark.both_ends("inventory:aws_accounts")
def test_inventory_lists_the_members_and_a_cached_run_makes_no_call(org, env, moto_server):
    members, inventory = org
    graph = run(["ansible-inventory", "-i", str(inventory), "--graph"], env).stdout
    hosts = re.findall(r"--(member-\d\d)$", graph, re.M)
    assert sorted(set(hosts)) == sorted(m.name for m in members) and len(members) == MEMBERS
    assert re.search(rf"--{management(moto_server)['Name']}$", graph, re.M)  # the management account too, by default
    assert "@aws_accounts:" in graph and "@kind_member:" in graph
    # Values read back from the cache are marked unsafe (not templated), which --list shows as a wrapper
    # {"__ansible_unsafe": value}; the versions of ansible-core differ in which values get it, and in the other
    # variables they list (2.21 adds ansible_local: {}), so every wrapper is unwrapped, wherever it is.
    listed = json.loads(run(["ansible-inventory", "-i", str(inventory), "--list"], env).stdout,
                        object_hook=lambda o: o["__ansible_unsafe"] if set(o) == {"__ansible_unsafe"} else o)
    first = listed["_meta"]["hostvars"]["member-00"]
    assert first["account_id"] == members[0].account_id and first["account_email"] == "member-00@example.com"
    assert first["role_arn"] == f"arn:aws:iam::{members[0].account_id}:role/OrganizationAccountAccessRole"
    assert first["ansible_connection"] == "local"

    moto_server.reset_counts()
    again = run(["ansible-inventory", "-i", str(inventory), "--graph"], env).stdout
    assert again == graph and moto_server.requests == 0


def org_report(inventory, env, extra, fanout=None):
    """The org_report playbook's plays (ansible.posix.json) and its JSON report (mfa_report_formats starts with json)."""
    extra = dict(extra, **({"mfa_report_fanout": fanout} if fanout else {}))
    process = run(["ansible-playbook", "-i", str(inventory), "awssec.mfa.org_report", "-f", FORKS, "-e", json.dumps(extra)],
                  dict(env, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json"))
    plays = json.loads(process.stdout)["plays"]
    printed = next(t for t in plays[1]["tasks"] if "Print the report" in t["task"]["name"])["hosts"]["localhost"]["results"]
    return plays, json.loads("\n".join(printed[0]["msg"])), ["\n".join(p["msg"]) for p in printed[1:]]


def ran_on(play):
    """The hosts that ran any task of a play."""
    return {host for task in play["tasks"] for host in task["hosts"]}


@pytest.mark.parametrize("fanout", ["module", "hosts"])
def test_org_report_counts_every_account_and_reports_the_one_that_failed(org, env, moto_server, demo_today, tmp_path, fanout):
    members, inventory = org
    broken = members[5]
    moto_server.before("AssumeRole", lambda p: (403, "AccessDenied", "not authorized to assume the role")
                       if broken.account_id in p.get("RoleArn", "") else None)
    html = tmp_path / "org.html"
    extra = {"mfa_report_aws_endpoint_url": moto_server.url, "mfa_report_formats": ["json", "table"], "mfa_report_save_path": str(html)}
    plays, report, (table,) = org_report(inventory, env, extra, None if fanout == "module" else fanout)  # module: the default

    rows = {a["account_name"]: a for a in report["accounts"]}
    assert len(rows) == MEMBERS + 1  # and the management account
    assert rows[broken.name]["status"] == "failed" and "not authorized to assume the role" in rows[broken.name]["error"]
    if fanout == "module":  # one process: no account host ran a task; every account's requests and seconds are known
        assert ran_on(plays[0]) == set() and ran_on(plays[1]) == {"localhost"}
        assert rows[broken.name]["error"].startswith(f"Failed to assume arn:aws:iam::{broken.account_id}:role/OrganizationAccountAccessRole")
        assert rows[broken.name]["api_calls"] == 1 and all(row["seconds"] is not None for row in rows.values())
        assert all(row["api_calls"] > 1 for name, row in rows.items() if name != broken.name)
    else:
        assert ran_on(plays[0]) == set(rows) and rows[broken.name]["api_calls"] is None
        assert all(0 < float(row["seconds"]) < 600 for row in rows.values())  # as the README says: every row has its seconds
    total = 0
    for member in members:
        if member is broken:
            continue
        row = rows[member.name]
        assert row["status"] == "ok" and row["account_id"] == member.account_id
        assert row["summary"]["counts"] == member.expected(demo_today), member.name
        assert row["summary"]["total"] == len(member.users)
        total += len(member.users)
    assert report["summary"]["total"] == total == len(report["users"])
    assert {u["account_name"] for u in report["users"]} <= {m.name for m in members} - {broken.name} | {management(moto_server)["Name"]}
    assert "member-05" in table and "FAILED" in table

    page = html.read_text()
    assert_self_contained(page)
    for member in members:
        assert member.name in page


@pytest.mark.parametrize("fanout", [pytest.param("module", marks=pytest.mark.both_ends("playbook:org_report.yml", "module:iam_mfa_org_facts")), "hosts"])
def test_the_management_account_is_reported_and_every_mfa_report_variable_applies(org, env, moto_server, iam, fanout):
    """Many Organizations keep their IAM users in the management account; the gathering is the role's, so its variables apply."""
    members, inventory = org
    iam.create_user(UserName="root-admin")
    iam.create_login_profile(UserName="root-admin", Password="Passw0rd!Passw0rd!")
    iam.create_user(UserName="break-glass", Tags=[{"Key": "emergency-only", "Value": "sealed envelope"}])
    iam.create_login_profile(UserName="break-glass", Password="Passw0rd!Passw0rd!")
    extra = {"mfa_report_formats": ["json", "table"], "mfa_report_grace_period_days": 0, "mfa_report_exempt_tag": "emergency-only"}
    report, (table,) = org_report(inventory, env, extra, fanout)[1:]
    name = management(moto_server)["Name"]
    row = next(a for a in report["accounts"] if a["account_name"] == name)
    assert row["status"] == "ok" and row["account_id"] == "123456789012"
    users = {u["username"]: u for u in report["users"] if u["account_name"] == name}
    assert users["root-admin"]["status"] == "non-compliant"
    assert users["break-glass"]["status"] == "exempted" and users["break-glass"]["exemption"]["reason"] == "sealed envelope"
    assert re.search(rf"│ {re.escape(name)} +│ root-admin +│", table)  # the table says whose user a row is
    assert f"  • {name}/root-admin: Console access without MFA protection" in table
    assert f"  • {name} (123456789012): Credentials: " in table  # the root user, per account


def test_a_static_account_with_a_missing_profile_says_why_with_keys_in_the_environment(env, moto_server, iam, tmp_path):
    inventory = tmp_path / "static.aws_accounts.yml"
    inventory.write_text("plugin: awssec.mfa.aws_accounts\naccounts:\n  - {id: '123456789012', name: main}\n"
                         "  - {id: '210987654321', name: elsewhere, profile: no-such-profile}\n")
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"]
    process = run(["ansible-playbook", "-i", str(inventory), "awssec.mfa.org_report", "-e", '{"mfa_report_formats": ["json", "table"]}'],
                  dict(env, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json"))
    plays = json.loads(process.stdout)["plays"]
    printed = next(t for t in plays[1]["tasks"] if "Print the report" in t["task"]["name"])["hosts"]["localhost"]["results"]
    report, table = json.loads("\n".join(printed[0]["msg"])), "\n".join(printed[1]["msg"])
    rows = {a["account_name"]: a for a in report["accounts"]}
    assert rows["main"]["status"] == "ok"
    assert rows["elsewhere"]["status"] == "failed" and "The config profile (no-such-profile) could not be found" in rows["elsewhere"]["error"]
    assert "Passing both a profile and access tokens" not in rows["elsewhere"]["error"]
    assert f"  • elsewhere (210987654321) FAILED: {rows['elsewhere']['error']}" in table


def test_module_and_hosts_fan_out_give_the_same_report(org, env, moto_server, demo_today):
    members, inventory = org
    extra = {"mfa_report_formats": ["json"], "mfa_report_exclude_users": ["*-3-*"], "mfa_report_concurrency": 4}
    moto_server.reset_counts()
    plays, by_module = org_report(inventory, env, extra)[:2]
    assumed = moto_server.actions["AssumeRole"]
    by_hosts = org_report(inventory, env, extra, "hosts")[1]

    assert ran_on(plays[0]) == set()
    assert assumed == MEMBERS  # each member's role assumed once, by the module (the management account with the run's keys)
    assert by_module["account_id"] == by_hosts["account_id"] == f"{MEMBERS + 1} accounts"
    for key in ("account_id", "account_name", "status", "summary", "root"):
        assert [row[key] for row in by_module["accounts"]] == [row[key] for row in by_hosts["accounts"]], key
    assert by_module["summary"] == by_hosts["summary"] and by_module["summary"]["counts"]["exempted"] > 0
    assert by_module["summary"]["total"] == sum(len(m.users) for m in members)
    users = [[(u["account_name"], u["username"], u["status"], u["reasons"]) for u in report["users"]] for report in (by_module, by_hosts)]
    assert users[0] == users[1]


def test_the_module_reads_the_accounts_it_is_given_in_check_mode_and_says_which_failed(org, env, moto_server, demo_today):
    members = org[0]
    denied = members[2]
    moto_server.before("AssumeRole", lambda p: (403, "AccessDenied", "not authorized to assume the role")
                       if denied.account_id in p.get("RoleArn", "") else None)
    accounts = [{"id": "123456789012", "name": "main"}] + [
        {"id": m.account_id, "name": m.name, "role_arn": f"arn:aws:iam::{m.account_id}:role/OrganizationAccountAccessRole"} for m in members[:4]]
    moto_server.reset_counts()
    process = run(["ansible", "localhost", "--check", "-vvv", "-m", "awssec.mfa.iam_mfa_org_facts",
                   "-a", json.dumps({"accounts": accounts, "concurrency": 2, "endpoint_url": moto_server.url})], env)
    facts = adhoc_result(process.stdout)["ansible_facts"]["iam_mfa"]
    rows = {row["account_name"]: row for row in facts["accounts"]}

    assert facts["account_id"] == "5 accounts, 1 failed" and rows["main"]["status"] == "ok"
    assert rows[denied.name] == {"account_id": denied.account_id, "account_name": denied.name, "status": "failed", "summary": None, "root": None,
                                 "error": f"Failed to assume {accounts[3]['role_arn']} (sts:AssumeRole): AccessDenied: not authorized to assume the role",
                                 "api_calls": 1, "seconds": rows[denied.name]["seconds"]}
    for member in (members[0], members[1], members[3]):
        assert rows[member.name]["summary"]["counts"] == member.expected(demo_today), member.name
    # Each account's own credential report holds all its users: as many requests in each, whatever its users, but for the
    # report's reads of what it cannot vouch for - a device that is not virtual (one ListMFADevices), a user compliant only
    # for want of a credential (read live, five calls).

    def vouched(member):
        return sum(1 for u in member.users if u.mfa == "hardware") + 5 * sum(
            1 for u in member.users if not u.mfa and not u.console and not any(k.active for k in u.keys)
            and u.expected_status(demo_today, ()) == "compliant")
    assert len({rows[member.name]["api_calls"] - vouched(member) for member in (members[0], members[1], members[3])}) == 1
    assert moto_server.actions["AssumeRole"] == 4
    assert facts["api_calls"] == sum(row["api_calls"] for row in rows.values()) == moto_server.requests  # each request counted once
    assert "ASIA" not in process.stdout + process.stderr  # no assumed role's key (moto's start with ASIA), even at -vvv

    for args, message in (({"accounts": [{"id": "12"}]}, "accounts[1]: id must be 12 digits, got '12'"),
                          ({"accounts": accounts, "concurrency": 0}, "concurrency must be from 1 to 64, not 0"),
                          ({"concurrency": 4}, "give accounts, or organization: true, or both")):
        refused = run(["ansible", "localhost", "-m", "awssec.mfa.iam_mfa_org_facts", "-a", json.dumps(args)], env, check=False)
        assert refused.returncode != 0 and message in refused.stdout, refused.stdout


def test_the_module_lists_the_organization_as_the_inventory_does(org, env, moto_server, demo_today):
    members = org[0]
    moto_server.reset_counts()
    process = run(["ansible", "localhost", "-m", "awssec.mfa.iam_mfa_org_facts", "-a", json.dumps({"organization": True})], env)
    facts = adhoc_result(process.stdout)["ansible_facts"]["iam_mfa"]
    rows = {row["account_name"]: row for row in facts["accounts"]}
    assert set(rows) == {m.name for m in members} | {management(moto_server)["Name"]}
    assert all(row["status"] == "ok" for row in rows.values())
    for member in members:
        assert rows[member.name]["account_id"] == member.account_id and rows[member.name]["summary"]["counts"] == member.expected(demo_today)
    assert moto_server.actions["AssumeRole"] == MEMBERS  # the management account, the run's own, with the run's credentials


def assert_self_contained(page):
    """No reference to anything outside the file: no script, link, image source, stylesheet import or URL."""
    for pattern in (r"<script", r"<link", r"\bsrc\s*=", r"\bhref\s*=", r"url\(", r"@import", r"https?:", r"//[a-z0-9.-]+\.[a-z]{2,}"):
        assert not re.search(pattern, page, re.I), pattern


def test_the_html_report_renders_in_headless_chromium(org, env, moto_server, demo_today, tmp_path):
    members, inventory = org
    html = tmp_path / "report.html"
    extra = {"mfa_report_aws_endpoint_url": moto_server.url, "mfa_report_formats": [], "mfa_report_save_path": str(html)}
    run(["ansible-playbook", "-i", str(inventory), "awssec.mfa.org_report", "-f", FORKS, "-e", json.dumps(extra)], env)
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "make test installs Debian's chromium"
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--host-resolver-rules=MAP * ~NOTFOUND"]
    png = tmp_path / "report.png"
    subprocess.run(flags + [f"--screenshot={png}", "--window-size=1280,1800", html.as_uri()], check=True, capture_output=True, timeout=120)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20000
    dom = subprocess.run(flags + ["--dump-dom", html.as_uri()], check=True, capture_output=True, text=True, timeout=120).stdout
    text = re.sub(r"<[^>]+>", " ", dom)
    total = sum(len(m.users) for m in members)
    assert re.search(rf"\b{total}\s+Users\b", text)
    non_compliant = sum(m.expected(demo_today)["non-compliant"] for m in members)
    assert re.search(rf"\b{non_compliant}\s+Non-compliant\b", text)
    assert dom.count("<svg") == 3  # status breakdown, key-age histogram, per-account compliance


# --- root credentials as AWS manages them today: central root access, members whose root was removed -----------------------

@pytest.fixture
def small_org(moto_server, iam, aws_like, tmp_path):
    """Two members with a user each; the management account answers ListOrganizationsFeatures (central root access on)."""
    members = seed_organization(moto_server.url, 2, users_of=lambda index: 1)
    manager = management(moto_server)
    aws_like.configure(organizations_features=("RootCredentialsManagement", "RootSessions"), organizations_management=manager["Id"], roots={
        manager["Id"]: {"mfa": "hardware", "password_last_used": "2026-11-02T09:30:00+00:00"},
        members[0].account_id: {"mfa": "none", "password": False, "access_keys": False},  # its root credentials were deleted centrally
        members[1].account_id: {"mfa": "none", "password": True, "password_last_used": "2026-10-30T17:45:00+00:00"},  # still there
    })
    inventory = tmp_path / "org.aws_accounts.yml"
    inventory.write_text(f"plugin: awssec.mfa.aws_accounts\norganization: true\nendpoint_url: {moto_server.url}\nregion: us-east-1\n")
    yield members, manager, inventory
    moto_server.clear_hooks()


@pytest.mark.parametrize("door", ["module", "playbook"])
def test_members_take_the_organizations_central_root_access_and_a_removed_root_is_no_finding(small_org, env, moto_server, tmp_path, door):
    (gone, kept), manager, inventory = small_org
    if door == "module":
        process = run(["ansible", "localhost", "-m", "awssec.mfa.iam_mfa_org_facts", "-a", json.dumps({"organization": True})], env)
        facts = adhoc_result(process.stdout)["ansible_facts"]["iam_mfa"]
        texts = {fmt: render_format(facts, fmt) for fmt in ("table", "markdown", "html", "csv")}
    else:
        saved = tmp_path / "org.html"
        extra = {"mfa_report_aws_endpoint_url": moto_server.url, "mfa_report_formats": ["json", "table", "markdown", "csv"],
                 "mfa_report_save_path": str(saved)}
        dummy, facts, printed = org_report(inventory, env, extra)
        texts = dict(zip(("table", "markdown", "csv"), printed), html=saved.read_text())
    roots = {a["account_name"]: a["root"] for a in facts["accounts"]}

    # The member whose root credentials were deleted: nothing to protect, no finding; the Organization's answer, not "unknown".
    assert roots[gone.name]["reasons"] == [] and roots[gone.name]["credentials_management"] == "enabled"
    assert roots[gone.name]["credentials"] == "none" and roots[gone.name]["password_present"] is False
    # The member whose root still has a password, without MFA, while the Organization manages root access centrally.
    assert roots[kept.name]["credentials"] == "password" and roots[kept.name]["credentials_management"] == "enabled"
    assert roots[kept.name]["reasons"] == ["root_without_mfa", "root_credentials_present"]
    assert roots[manager["Name"]]["reasons"] == [] and roots[manager["Name"]]["credentials_management"] == "enabled"
    advice = texts["table"]  # its RECOMMENDATIONS
    assert (f"Delete the root user's credentials centrally: the Organization manages root access, so from its management account use "
            f"sts:AssumeRoot with the IAMDeleteRootUserCredentials task policy (1 account: {kept.name} ({kept.account_id}))") in advice
    assert f"Enable MFA on the root user (1 account: {kept.name} ({kept.account_id}))" in advice  # the removed root is not named

    # The root row: what it holds, whole dates or never, in every format.
    table = texts["table"]
    assert (f"  • {gone.name} ({gone.account_id}): Credentials: none (no password, access keys or signing certificates)   "
            "MFA: not needed (no credentials)   Access keys: none   Password last used: never   Centralized root access: enabled") in table
    assert (f"  • {kept.name} ({kept.account_id}): Credentials: password   MFA: NOT ENABLED   Access keys: none   "
            "Password last used: 2026-10-30 17:45 UTC   Centralized root access: enabled   Findings: root_without_mfa, root_credentials_present"
            ) in table
    assert "never or u" not in "".join(texts.values())
    assert (f"| {gone.name} ({gone.account_id}) | none (no password, access keys or signing certificates) | not needed (no credentials) | "
            "none | never | enabled | none |") in texts["markdown"]
    assert f"| {kept.name} ({kept.account_id}) | password | NOT ENABLED | none | 2026-10-30 17:45 UTC | enabled |" in texts["markdown"]
    assert "<td>2026-10-30 17:45 UTC</td>" in texts["html"] and "Root users without credentials (none to protect)" in texts["html"]
    rows = {row["account_name"]: row for row in csv.DictReader(io.StringIO(texts["csv"]))}
    assert (rows[kept.name]["root_credentials"], rows[kept.name]["root_password_last_used"]) == ("password", "2026-10-30T17:45:00+00:00")
    assert rows[kept.name]["root_reasons"] == "root_without_mfa;root_credentials_present"
    assert (rows[gone.name]["root_credentials"], rows[gone.name]["root_password_last_used"], rows[gone.name]["root_reasons"]) == ("none", "never", "")


def render_format(facts, fmt):
    """A report format of facts, rendered as the mfa_report role renders it."""
    from ansible_collections.awssec.mfa.plugins.module_utils.report_doc import render

    return render(facts, fmt)
