# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Real ansible and ansible-playbook runs against a moto server on 127.0.0.1 started here."""

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import List

import boto3
import pytest

from tests.support.demo_account import DemoUser, seed_demo_account
from tests.support.moto_server import CREDENTIALS, MotoServer, aws_env, reset_moto

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@dataclass
class Demo:
    server: MotoServer
    users: List[DemoUser]
    iam: object
    today: object


# How AWS behaves and moto does not, in every scenario (tests/support/aws_like.py): IAM lists in pages, a credential
# report that is generated, dated and served again as it was. Throttling and new keys refused for a while are turned
# on by the tests that exercise them.
AWS_LIKE = {"paging": True, "report": True}


@pytest.fixture(scope="session")
def moto_server():
    with MotoServer() as server:
        yield server


@pytest.fixture(autouse=True)
def aws_like(moto_server):
    """Each test starts with no credential report, full token buckets and the default AWS-like behaviours."""
    moto_server.aws_like.reset(**AWS_LIKE)
    yield moto_server.aws_like
    moto_server.aws_like.reset(**AWS_LIKE)


@pytest.fixture
def iam(moto_server):
    reset_moto()
    return boto3.client("iam", endpoint_url=moto_server.url, region_name="us-east-1",
                        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"], aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])


@pytest.fixture
def demo(moto_server, iam):
    now = datetime.now(timezone.utc)  # one instant for the ages seeded and the day expected (not a later one: midnight)
    users = seed_demo_account(iam, now)
    return Demo(moto_server, users, iam, now.date())


@pytest.fixture
def demo_today():
    return datetime.now(timezone.utc).date()


@pytest.fixture
def env(moto_server, tmp_path):
    """A child environment that reaches only the moto server and never the real ~/.aws."""
    home = tmp_path / "home"
    home.mkdir()
    child = aws_env(moto_server.url)
    child.update({
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / ".aws" / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws" / "credentials"),
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".collections"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    })
    return child


def run(args, env, check=True, deprecated=None):
    """``deprecated``: the text of the one deprecation the run must warn of (this collection's own, on purpose)."""
    # No terminal: prompts (pause) do not wait.
    result = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, check=False, timeout=600, stdin=subprocess.DEVNULL)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    output = result.stdout + result.stderr
    warned = output.count("[DEPRECATION WARNING]")
    if deprecated is not None:  # that one, once (Ansible may wrap its text over lines)
        assert warned == 1 and deprecated in " ".join(output.split()), f"not one deprecation warning saying {deprecated!r}\n{output}"
        warned = 0
    # What ansible-core deprecates stops working in a later release (injected facts, for one): none of it, on any version.
    if warned:
        raise AssertionError(f"{' '.join(map(str, args))} used something deprecated\n{result.stdout}\n{result.stderr}")
    return result


def adhoc_result(stdout: str) -> dict:
    """The JSON result of an ad hoc run: ``localhost | SUCCESS => {...}``."""
    return json.loads(stdout[stdout.index("=>") + 2:])


@pytest.fixture
def station(moto_server, iam, env):
    """A workstation (temporary HOME) whose prod and dev long-term keys are the IAM user moto's one key, 350 days old."""
    from tests.integration.workstation import Workstation, age_key

    iam.create_user(UserName="moto")
    created = iam.create_access_key(UserName="moto")["AccessKey"]
    age_key(created["AccessKeyId"], 350)
    moto_server.clear_hooks()
    station = Workstation(moto_server, env, iam, created["AccessKeyId"], created["SecretAccessKey"])
    station.write()
    yield station
    moto_server.clear_hooks()
