# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the README and the docs state, checked against what the code does."""

import json
import pathlib
import re
import subprocess

import pytest

from tests.integration.conftest import adhoc_result, run

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def flat(text: str) -> str:
    return " ".join(text.split())


def permissions(sentence_start: str) -> set:
    """The actions named in the README sentence that starts so (up to its full stop)."""
    text = flat(README)
    sentence = text[text.index(sentence_start):]
    sentence = sentence[:sentence.index(". ")]
    return set(re.findall(r"`((?:iam|sts):\w+)`", sentence))


def test_the_readme_counts_the_calls_of_an_account_of_5000_users_and_names_every_permission_they_need(moto_server, env):
    """"N calls for an account of 5,000 users" (it said 12 once ListOrganizationsFeatures made it 13), and the permissions
    of source=credential_report (they lacked iam:ListOrganizationsFeatures), against a run on the benchmark's account."""
    from datetime import datetime, timezone

    from bench.report_scale import create_in_backend, realistic_users
    from tests.support.moto_server import reset_moto

    reset_moto()
    users, now = realistic_users(5000), datetime.now(timezone.utc)
    for number, user in enumerate(users, 1):  # as the benchmark seeds it (bench/report_scale.py)
        create_in_backend(user, now, number)

    moto_server.reset_counts()
    process = run(["ansible", "localhost", "-m", "awssec.mfa.iam_mfa_facts", "-a", json.dumps({"endpoint_url": moto_server.url})], env)
    facts = adhoc_result(process.stdout)["ansible_facts"]["iam_mfa"]
    served = moto_server.actions
    stated = int(re.search(r"\((\d+) calls for an account of 5,000 users", flat(README)).group(1))
    reads = int(re.search(r"5,000 users has (\d+) such users, (\d+) calls more", flat(README)).group(1))
    assert facts["summary"]["total"] == 5000 and facts["api_calls"] == sum(served.values()), served
    assert stated == sum(served.values()) - served["ListMFADevices"] and reads == served["ListMFADevices"] == facts["mfa_device_reads"], served
    called = {f"{'sts' if action == 'GetCallerIdentity' else 'iam'}:{action}" for action in served}
    assert called <= permissions("`source: credential_report` (default) needs"), called


def test_the_readme_names_every_permission_of_a_live_read(demo, env):
    demo.server.reset_counts()
    run(["ansible", "localhost", "-m", "awssec.mfa.iam_mfa_facts", "-a", json.dumps({"endpoint_url": demo.server.url, "source": "live"})], env)
    called = {f"{'sts' if action == 'GetCallerIdentity' else 'iam'}:{action}" for action in demo.server.actions}
    assert called <= permissions("`source: live` needs"), called


def test_each_apply_example_says_the_limit_its_command_sets():
    """"# Apply (fails ... if more than 10 users ...)" stood above a command that sets 25."""
    examples = re.findall(r"# Apply \(fails[^\n]*?more than (\d+) users[^\n]*\n([^\n]+)", README)
    assert examples
    for said, command in examples:
        given = re.search(r"mfa_enforce_max_affected=(\d+)", command)
        assert (given.group(1) if given else "10") == said, command


def test_the_rotation_order_the_docs_give_is_the_order_of_the_steps():
    """The code backs the old key up before it retires it (a failed backup leaves it active); the docs said the reverse."""
    from ansible_collections.awssec.mfa.plugins.module_utils import rotate as r
    from datetime import datetime, timedelta, timezone

    class IAM:
        def create_access_key(self, UserName):
            return {"AccessKey": {"AccessKeyId": "AKIANEW", "SecretAccessKey": "s"}}

        def update_access_key(self, aws_retry=False, **kwargs):
            pass

    now = datetime.now(timezone.utc)
    old = {"AccessKeyId": "OLD", "Status": "Active", "CreateDate": now - timedelta(days=400)}
    hooks = r.Hooks(verify=lambda k, s: None, store=lambda k, s: None, restore=lambda: None, backup=lambda: "backup", sleep=lambda s: None)
    steps = [s["step"] for s in r.rotate(IAM(), "u", "OLD", [old], [], r.RotateOptions(), hooks, now)["steps"]]
    assert steps.index("backup") < steps.index("retire_old")
    module_doc = flat((ROOT / "plugins" / "modules" / "access_key_rotate.py").read_text())
    prompt = (ROOT / "roles" / "mfa_workstation" / "tasks" / "login.yml").read_text()
    for text, backup, retire in ((flat(README), "back the old key up", "retire it"), (module_doc, "back the old key up", "retire the old key"),
                                 (prompt, "Back the old key up", "Deactivate the old key")):
        assert text.index(backup) < text.index(retire)


def test_no_file_names_a_document_that_does_not_exist():
    """Tests pointed to a design document (DESIGN dot md) that is not in the collection. A .md file a test writes (a
    quoted name, "report.md") is no reference."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    missing = []
    for name in tracked:
        path = ROOT / name
        if path.suffix not in (".py", ".md", ".yml", ".j2", ".txt", ".cfg", ".toml") or not path.is_file():
            continue
        for doc in set(re.findall(r"(?<![\w/.\"'-])([A-Za-z0-9_./-]+\.md)\b(?![\"'])", path.read_text(errors="replace"))):
            if "github.com" in doc:  # a URL
                continue
            if not any((base / doc).exists() for base in (ROOT, ROOT / "docs", path.parent)):
                missing.append(f"{name}: {doc}")
    assert missing == []


def test_an_endpoint_option_wins_over_aws_endpoint_url_as_the_readme_says(demo, env):
    """The README called AWS_ENDPOINT_URL "the one way to reach a custom endpoint"; the options exist, and win."""
    assert "and win over it" in flat(README)
    nowhere = dict(env, AWS_ENDPOINT_URL="http://127.0.0.1:9")  # nothing listens there
    module = run(["ansible", "localhost", "-m", "awssec.mfa.iam_mfa_facts", "-a", json.dumps({"endpoint_url": demo.server.url})], nowhere)
    assert adhoc_result(module.stdout)["ansible_facts"]["iam_mfa"]["summary"]["total"] == len(demo.users)
    cli = run(["awssec", "iam-mfa", "report", "--output", "json", "--endpoint-url", demo.server.url], nowhere)
    assert json.loads(cli.stdout)["summary"]["total"] == len(demo.users)


def test_the_exit_statuses_the_readme_gives_for_enforce(demo, env):
    """"exits 1 (2 for bad options)": an --apply refused by --max-affected exits 2 as well; a --dry-run over it shows the
    plan, exits 0 and warns that applying would be refused."""
    assert "exits 1 (2 for bad options, and for an `--apply` refused by `--max-affected`)" in flat(README)
    before = demo.iam.get_account_summary()["SummaryMap"]
    refused = run(["awssec", "iam-mfa", "enforce", "--apply", "--max-affected", "1"], env, check=False)
    assert refused.returncode == 2 and "more than max_affected=1; nothing was changed" in refused.stderr
    preview = run(["awssec", "iam-mfa", "enforce", "--dry-run", "--max-affected", "1"], env, check=False)
    assert preview.returncode == 0 and "Applying this plan would be refused" in preview.stdout
    assert "warning: Applying this plan would be refused" in preview.stderr and "--max-affected" in preview.stderr
    assert demo.iam.get_account_summary()["SummaryMap"] == before


@pytest.mark.ansible_independent  # the aws CLI alone
def test_aws_sqs_of_aws_cli_v1_ignores_aws_endpoint_url_so_the_guard_set_up_gives_it_the_endpoint(moto_server, env):
    """The README and docs/event-driven.md say so: every aws sqs line of the set-up passes the endpoint itself."""
    import boto3

    from tests.support.moto_server import CREDENTIALS

    sqs = boto3.client("sqs", endpoint_url=moto_server.url, region_name="us-east-1", aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    quick = ["--cli-connect-timeout", "2", "--cli-read-timeout", "2", "--query", "QueueUrl", "--output", "text"]
    subprocess.run(["aws", "sqs", "create-queue", "--queue-name", "ignored", *quick], env=dict(env, AWS_MAX_ATTEMPTS="1"), capture_output=True,
                   text=True, timeout=120, check=False)
    given = subprocess.run(["aws", "sqs", "--endpoint-url", env["AWS_ENDPOINT_URL"], "create-queue", "--queue-name", "given", *quick], env=env,
                           capture_output=True, text=True, timeout=120, check=False)
    queues = sqs.list_queues().get("QueueUrls", [])
    assert given.returncode == 0 and given.stdout.strip() in queues, given.stderr
    assert not [q for q in queues if q.endswith("/ignored")]  # it went elsewhere (AWS), not to AWS_ENDPOINT_URL
    guide = (ROOT / "docs" / "event-driven.md").read_text()
    set_up = [line for line in guide.splitlines() if re.search(r"\baws sqs ", line) and not line.lstrip().startswith("#")]
    assert set_up and all("aws sqs $SQS_ENDPOINT " in line for line in set_up), set_up
    assert "ignores it and reaches AWS, so give it `--endpoint-url" in flat(README)
