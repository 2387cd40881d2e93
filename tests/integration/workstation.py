# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A workstation with a temporary HOME: long-term profiles whose keys belong to the IAM user ``moto``.

moto maps every GetSessionToken session to the IAM user ``moto`` (see the README's demo server section), so the long-term
keys here are that user's: the post-login checks (user, key age, extra keys) then see real data.
"""

import configparser
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tests.support.moto_server import iam_backend

MFA_SERIAL = "arn:aws:iam::123456789012:mfa/moto"
CODES = {"prod": "246810", "dev": "975310"}  # not substrings of the account ID, which no_log would mask
CREDENTIALS_TEMPLATE = """# My AWS keys - managed by hand
[prod-long-term]
aws_access_key_id = {key}
aws_secret_access_key = {secret}
mfa_serial = {serial}

; dev keys
[dev-long-term]
aws_access_key_id={key}
aws_secret_access_key={secret}
"""
CONFIG_TEMPLATE = """[profile dev-long-term]
region = us-east-1
aws_mfa_device = {serial}
"""


class Workstation:
    def __init__(self, server, env, iam, key, secret):
        self.server, self.env, self.iam, self.key, self.secret = server, env, iam, key, secret
        self.home = Path(env["HOME"])
        self.credentials = Path(env["AWS_SHARED_CREDENTIALS_FILE"])
        self.config = Path(env["AWS_CONFIG_FILE"])

    def write(self, credentials=CREDENTIALS_TEMPLATE, config=CONFIG_TEMPLATE):
        self.credentials.parent.mkdir(mode=0o700, exist_ok=True)
        self.credentials.write_text(credentials.format(key=self.key, secret=self.secret, serial=MFA_SERIAL))
        self.config.write_text(config.format(serial=MFA_SERIAL))
        self.credentials.chmod(0o600)

    def login(self, *flags, **options):
        return self.playbook("mfa_login", *flags, **options)

    def playbook(self, name, *flags, check=True, callback="ansible.posix.json", **variables):
        from tests.integration.conftest import run  # conftest imports this module

        env = dict(self.env, ANSIBLE_STDOUT_CALLBACK=callback) if callback else self.env
        extra = {"mfa_workstation_endpoint_url": self.server.url, **variables}
        return run(["ansible-playbook", f"awssec.mfa.{name}", "-e", json.dumps(extra), *flags], env, check=check)

    def module(self, name, arguments, *flags, check=True):
        """An ad hoc run; returns (result, process)."""
        from tests.integration.conftest import adhoc_result, run

        process = run(["ansible", "localhost", "-m", f"awssec.mfa.{name}", "-a", json.dumps(arguments), *flags], self.env, check=check)
        result = adhoc_result(process.stdout)
        result["failed"] = process.returncode != 0  # the printed result leaves it out
        return result, process

    def keys(self):
        """The user's keys in IAM: {id: status}."""
        return {k["AccessKeyId"]: k["Status"] for k in self.iam.list_access_keys(UserName="moto")["AccessKeyMetadata"]}

    def stored_key(self, profile="prod-long-term"):
        section = self.section(profile)
        return section["aws_access_key_id"], section["aws_secret_access_key"]

    def key_works(self, profile="prod-long-term"):
        """The file's key is an active key of the user, and STS answers as that user with it."""
        import boto3

        key_id, secret = self.stored_key(profile)
        sts = boto3.client("sts", endpoint_url=self.server.url, region_name="us-east-1", aws_access_key_id=key_id, aws_secret_access_key=secret)
        return self.keys().get(key_id) == "Active" and sts.get_caller_identity()["Arn"] == "arn:aws:iam::123456789012:user/moto"

    def section(self, name, path=None):
        parser = configparser.RawConfigParser()
        parser.read(path or self.credentials)
        return dict(parser.items(name)) if parser.has_section(name) else None


def tasks(process) -> dict:
    plays = json.loads(process.stdout)["plays"]
    return {t["task"]["name"]: t["hosts"]["localhost"] for t in plays[0]["tasks"]}


def task(process, start):
    """The result of the task whose own name (after any ``role : ``) begins with ``start`` - not Ansible's
    "Validating arguments against arg spec" task, whose name quotes the entry point's description."""
    return next(result for name, result in tasks(process).items() if name.split(" : ")[-1].startswith(start))


def age_key(key_id, days):
    user = iam_backend().users["moto"]
    key = next(k for k in user.access_keys if k.access_key_id == key_id)
    key.create_date = (datetime.now(timezone.utc) - timedelta(days=days)).replace(tzinfo=None)


class Collect:
    """A pexpect log file that keeps what the child printed."""

    def __init__(self, into):
        self.into = into

    def write(self, text):
        self.into.append(text)

    def flush(self):
        pass
