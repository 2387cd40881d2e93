# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The README's quick start, run literally (its code blocks, extracted from README.md) as a newcomer would: a shell
with none of the checkout's settings (no ANSIBLE_CONFIG, no collections path, no venv on PATH), from a folder outside
the checkout, against a moto server reached only through AWS_ENDPOINT_URL."""

import csv
import io
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from ansible_collections.awssec.mfa.plugins.module_utils.policy import mfa_policy
from tests.integration.conftest import ROOT, adhoc_result, run
from tests.support.demo_account import expected_counts

README = ROOT / "README.md"


def quick_start_blocks():
    """The bash blocks of the README's "## Quick start" section (up to its first subsection or the next section)."""
    text = README.read_text(encoding="utf-8")
    section = re.search(r"^## Quick start\n(.*?)^##", text, re.S | re.M)[1]
    return re.findall(r"```bash\n(.*?)```", section, re.S)


def checkout_files():
    """What git sees in the checkout, ignored files included (but Python's bytecode caches)."""
    status = subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [line for line in status.splitlines() if "__pycache__" not in line]


def newcomer_env(env, home: Path) -> dict:
    """What a new user's shell has: the AWS settings, a HOME, the system PATH; nothing of this project's."""
    shell = {k: v for k, v in env.items() if k.startswith("AWS_") or k in ("LANG", "LC_ALL", "TMPDIR")}
    venv_bins = {str(ROOT / ".venv" / "bin"), str(ROOT / ".venv-oldest" / "bin"), str(Path(os.sys.executable).parent)}
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p not in venv_bins]
    shell.update(HOME=str(home), PATH=os.pathsep.join(path), ANSIBLE_NOCOLOR="1",
                 AWS_CONFIG_FILE=str(home / ".aws" / "config"), AWS_SHARED_CREDENTIALS_FILE=str(home / ".aws" / "credentials"))
    return shell


def test_the_readme_quick_start_runs_from_a_folder_outside_the_checkout(demo, env, tmp_path):
    blocks = quick_start_blocks()
    assert len(blocks) == 2 and "make setup" in blocks[0] and "ansible-playbook awssec.mfa.report" in blocks[1]
    home = tmp_path / "newcomer"
    (home / ".aws").mkdir(parents=True)
    profile = "[dev-long-term]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = x\nmfa_serial = arn:aws:iam::123456789012:mfa/dev\n"
    (home / ".aws" / "credentials").write_text(profile)
    # The README's first block runs in the checkout; the second moves to a folder of the user's (under HOME).
    script = "set -euo pipefail\n" + f"cd {ROOT}\n" + "\n".join(blocks)
    before = checkout_files()
    done = subprocess.run(["bash", "-c", script], env=newcomer_env(env, home), cwd=ROOT, capture_output=True, text=True, timeout=900,
                          stdin=subprocess.DEVNULL, check=False)
    assert done.returncode == 0, done.stdout + done.stderr

    folder = home / "mfa-reports"
    report = json.loads((folder / "report.json").read_text())
    expected, dummy = expected_counts(demo.users, demo.today, exclude=())
    assert report["summary"]["counts"] == expected
    html = (folder / "report.html").read_text()
    assert "<h2>Trends</h2>" in html  # the second run read report.json from the user's folder
    rows = list(csv.DictReader(io.StringIO((folder / "report.csv").read_text())))
    assert len(rows) == len(demo.users)
    assert "IAM MFA COMPLIANCE REPORT" in done.stdout  # the playbook's and awssec's table
    assert re.search(r"• dev \[", done.stdout)  # aws-mfa-login --list: the long-term profile and its session state
    assert not (folder / "output").exists()  # --list only reads: no log folder (a login logs to output/ in the user's folder)
    assert checkout_files() == before  # nothing was written into the checkout (its playbooks folder included)


def activated(env, home: Path) -> dict:
    """A newcomer's shell after ``. .venv/bin/activate``."""
    shell = newcomer_env(env, home)
    shell.update(VIRTUAL_ENV=str(ROOT / ".venv"), PATH=f"{ROOT / '.venv' / 'bin'}{os.pathsep}{shell['PATH']}")
    return shell


def test_the_accounts_inventory_plugin_is_found_from_any_folder(env, tmp_path):
    home = tmp_path / "newcomer"
    home.mkdir()
    (home / "static.aws_accounts.yml").write_text("plugin: awssec.mfa.aws_accounts\naccounts:\n  - {id: '123456789012', name: main}\n")
    graph = subprocess.run(["ansible-inventory", "-i", "static.aws_accounts.yml", "--graph"], env=activated(env, home), cwd=home,
                           capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, check=False)
    assert graph.returncode == 0 and "unknown plugin" not in graph.stderr
    assert re.search(r"@aws_accounts:\n[ |]+--main$", graph.stdout, re.M)


def test_a_missing_previous_report_is_named_once(demo, env, tmp_path):
    home = tmp_path / "newcomer"
    home.mkdir()
    shell = activated(env, home)
    done = subprocess.run(["ansible-playbook", "awssec.mfa.report", "-e", "mfa_report_previous=yesterday.json"], env=shell, cwd=home,
                          capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL, check=False)
    assert done.returncode == 2
    assert f"mfa_report_previous: {home / 'yesterday.json'} is not a file" in done.stdout
    assert "caused by" not in done.stdout + done.stderr


def test_the_built_collection_holds_no_report_or_log(tmp_path):
    """Reports and logs left in a checkout (by runs before paths were the user's, or saved there on purpose) stay out of the tarball."""
    tree = tmp_path / "ansible_collections" / "awssec" / "mfa"
    tree.mkdir(parents=True)
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(f"tar --null -T - -cf - | tar -xf - -C {tree}", shell=True, cwd=ROOT, input=files, check=True)
    left = ["report.json", "mfa.html", "mfa-baseline.csv", "playbooks/report.json", "playbooks/org.html", "playbooks/users.csv",
            "playbooks/report.md", "playbooks/report.txt", "output/aws_mfa_20261130.log", "roles/mfa_report/today.json"]
    for name in left:
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text("alice,non-compliant\n")
    subprocess.run(["ansible-galaxy", "collection", "build", "--output-path", str(tmp_path), str(tree)], check=True, capture_output=True)
    import tarfile
    with tarfile.open(next(tmp_path.glob("awssec-mfa-*.tar.gz"))) as tarball:
        names = set(tarball.getnames())
    assert not names & set(left)
    assert {"README.md", "playbooks/report.yml", "roles/mfa_report/tasks/main.yml", "docs/performance.md"} <= names


@pytest.mark.both_ends("lookup:mfa_policy")
def test_the_readme_policy_lookup_gives_the_document_enforcement_attaches_in_the_partition_asked(env):
    """The README's lookup, and with a partition: the document iam_mfa_enforce attaches (module_utils/policy.py), as JSON."""
    for options, partition in (("", "aws"), (", partition='aws-us-gov', allow_password_change=false", "aws-us-gov")):
        shown = adhoc_result(run(["ansible", "localhost", "-m", "debug", "-a", f"msg={{{{ lookup('awssec.mfa.mfa_policy'{options}) }}}}"],
                                 env).stdout)["msg"]
        assert shown == mfa_policy(partition=partition, allow_password_change=partition == "aws")
        assert f"arn:{partition}:iam::*:mfa/" in json.dumps(shown) and (partition == "aws" or ":aws:" not in json.dumps(shown))
