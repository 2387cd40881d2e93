# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Benchmark (not a test): MFA facts for a large IAM account, three ways.

A moto server in this process is seeded with N users (default 5,000), then each approach
runs as a real ``ansible-playbook`` on localhost:

  (a) awssec.mfa.iam_mfa_facts with source=credential_report
  (b) awssec.mfa.iam_mfa_facts with source=live
  (c) amazon.aws.iam_user_info, then a loop of amazon.aws.iam_mfa_device_info and
      amazon.aws.iam_access_key_info per user, on the first K users only, scaled to N
  (d) (a) again once every user has policies (groups, managed and inline): what reading them
      for keys_mfa_protected costs
  (e) (d) with require_phishing_resistant_mfa and evidence_days=30 (CloudTrail sign-ins)

and, each on its own server (--sections picks which run):

  floor  at 3,000 and 5,000 users, the report already generated: a no-op ansible-playbook, bare boto3
         making the same calls as (a) in one Python process, and (a); (a) within 1.25x of the first two's sum.
         Also (a)'s facts returned by a module that reads them from a file: what Ansible's carrying of
         the result costs alone
  first  at 3,000 users, a first run (no report generated yet) against the seed's way: per-user sequential
         boto3 (ListUsers, then each user's MFA devices, login profile, keys and their last use); 10x or more
  live   at 3,000 users, source=live with concurrency 1 and 8, every answer waiting as AWS's do (latency);
         the same users either way, concurrency 8 at least 3x faster

API calls are counted by the server (the same yardstick for all three); wall seconds
cover the whole ansible-playbook run. The server behaves like AWS where it matters here
(IAM pages, the credential report's generation): see tests/support/aws_like.py and docs/performance.md.

    .venv/bin/python bench/report_scale.py --users 5000 --peer-users 200 [--sections peers,floor,first,live]
"""

from __future__ import annotations

import argparse
import collections
import csv
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402

from tests.support.demo_account import DemoUser, Key, expected_counts, set_dates  # noqa: E402
from tests.support.moto_server import ACCOUNT_ID, CREDENTIALS, MotoServer, aws_env, iam_backend, reset_moto  # noqa: E402

BIN = Path(sys.executable).parent
COLLECTION_LINK = ROOT / ".collections" / "ansible_collections" / "awssec" / "mfa"

TARGET_REPORT_VS_LIVE = 10  # (a) at least 10x faster than (b), wall time
TARGET_REPORT_VS_PEER = 100  # (a) at least 100x faster than (c), wall time per user
TARGET_REPORT_CALLS = 25  # (a) makes at most 25 API calls at 5,000 users
TARGET_FLOOR_RATIO = 1.25  # (a) at most 1.25x a no-op playbook plus bare boto3 making the same calls
TARGET_FIRST_VS_SEED = 10  # a first run at least 10x faster than the seed's per-user sequential boto3, at 3,000 users
TARGET_LIVE_CONCURRENCY = 3  # source=live with concurrency 8 at least 3x faster than with 1, at 3,000 users
FLOOR_USERS = (3000, 5000)
FLOOR_REPEATS = 3  # each of the three runs this many times, interleaved; the medians are compared
LIVE_LATENCY = 0.02  # seconds each answer waits in the live section: IAM's from near us-east-1 (further away, more)
SECTIONS = ("peers", "floor", "first", "live")

_FIRST = ["ana", "ben", "carla", "dev", "eli", "fay", "gus", "hana", "ivan", "jo", "kai", "lena"]
_LAST = ["garcia", "ng", "patel", "smith", "okafor", "muller", "rossi", "kim"]
_TEAMS = ["platform", "data", "web", "finance", "ops"]


# --- seeding --------------------------------------------------------------------------------


def random_key(rng: random.Random, user_age: int) -> Key:
    """An access key no older than its user: 1 in 5 inactive, 1 in 4 never used."""
    key_age = rng.randint(0, user_age)
    used = rng.randint(0, key_age) if rng.random() < 0.75 else None
    return Key(key_age, active=rng.random() > 0.2, used_days_ago=used)


def realistic_users(count: int, seed: int = 1, non_compliant: Optional[int] = None) -> List[DemoUser]:
    """``count`` users: about 1/3 with MFA (some hardware), half with a console password,
    0-2 access keys (some inactive), ages from a day to about 7 years. Deterministic.

    With ``non_compliant``, exactly that many users are made non-compliant and all others
    compliant (see ``set_non_compliant``); without it, the mix is left as it comes."""
    rng = random.Random(seed)
    users = []
    for i in range(count):
        age = rng.randint(1, 13) if rng.random() < 0.05 else rng.randint(14, 2500)
        roll = rng.random()
        mfa = "hardware" if roll < 0.05 else "virtual" if roll < 1 / 3 else None
        console = rng.random() < 0.5
        password_used = rng.randint(0, age) if console and rng.random() < 0.8 else None
        keys = [random_key(rng, age) for _key in range(rng.choice((0, 0, 1, 1, 2)))]
        tags = {"team": rng.choice(_TEAMS)} if rng.random() < 0.5 else {}
        name = f"{rng.choice(_FIRST)}.{rng.choice(_LAST)}.{i:05d}"
        users.append(DemoUser(name, age, mfa, console, password_used, keys, tags))
    if non_compliant is not None:
        set_non_compliant(users, non_compliant, random.Random(seed + 1))
    return users


def set_non_compliant(users: List[DemoUser], count: int, rng: random.Random) -> None:
    """Make ``count`` users, spread evenly, non-compliant: no MFA, at least 14 days old, with a
    console password, 1-2 active access keys, or both (in turn). Make every other user compliant:
    a user without MFA who has a console password or an active key gets, at random, a virtual
    MFA device or loses those credentials (keys made inactive)."""
    chosen = {i * len(users) // count: i for i in range(count)} if count else {}
    for number, user in enumerate(users):
        if number in chosen:
            kind = chosen[number] % 3  # 0 console only, 1 keys only, 2 both
            user.mfa = None
            if user.age_days < 14:
                user.age_days = rng.randint(14, 2500)
            user.console = kind != 1
            if not user.console:
                user.password_used_days_ago = None
            if kind == 0:
                user.keys = [key for key in user.keys if not key.active]
            else:
                user.keys = [replace(random_key(rng, user.age_days), active=True) for _key in range(rng.choice((1, 2)))]
        elif user.mfa is None and (user.console or any(key.active for key in user.keys)):
            if rng.random() < 0.5:
                user.mfa = "virtual"
            else:
                user.console, user.password_used_days_ago = False, None
                user.keys = [replace(key, active=False) for key in user.keys]


def create_in_backend(user: DemoUser, now: datetime, serial_number: int, account_id: str = ACCOUNT_ID) -> None:
    """What tests.support.demo_account.create_user does through the API, straight in moto's
    backend (about 100x faster); dates are then set back the same way (set_dates)."""
    backend = iam_backend(account_id)
    backend.create_user("us-east-1", user.name, tags=[{"Key": k, "Value": v} for k, v in user.tags.items()])
    if user.console:
        backend.create_login_profile(user.name, "Bench-password-1!")
    if user.mfa == "virtual":
        serial = backend.create_virtual_mfa_device(user.name, "/").serial_number
    elif user.mfa == "hardware":
        serial = f"GAHT{serial_number:08d}"
    if user.mfa:
        backend.enable_mfa_device(user.name, serial, "123456", "654321")
    key_ids = [backend.create_access_key(user.name, status="Active" if k.active else "Inactive").access_key_id for k in user.keys]
    set_dates(user, now, key_ids, account_id)


def check_served(url: str, users: List[DemoUser]) -> None:
    """The API serves the seeded users: ListUsers and the credential report see them all."""
    iam = boto3.client(
        "iam", endpoint_url=url, region_name="us-east-1",
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"], aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    listed = sum(len(page["Users"]) for page in iam.get_paginator("list_users").paginate())
    iam.generate_credential_report()
    rows = list(csv.DictReader(io.StringIO(iam.get_credential_report()["Content"].decode())))
    with_mfa = sum(row["mfa_active"] == "true" for row in rows)
    expected_mfa = sum(user.mfa is not None for user in users)
    if (listed, len(rows), with_mfa) != (len(users), len(users), expected_mfa):
        raise SystemExit(f"seeding check failed: ListUsers {listed}, report rows {len(rows)} ({with_mfa} with MFA), expected {len(users)} ({expected_mfa})")
    # Forget the report, so that (a) generates it like a first run does (moto answers STARTED once).
    iam_backend().credential_report = False


def seed(server: MotoServer, count: int, non_compliant: Optional[int] = None) -> List[DemoUser]:
    reset_moto()  # moto's accounts live in this process: a server started before may have left users
    users = realistic_users(count, non_compliant=non_compliant)
    now = datetime.now(timezone.utc)
    start = time.perf_counter()
    for number, user in enumerate(users, 1):
        create_in_backend(user, now, number)
    check_served(server.url, users)
    mfa = collections.Counter(user.mfa or "none" for user in users)
    keys = sum(len(user.keys) for user in users)
    print(
        f"Seeded {count} users in {time.perf_counter() - start:.1f} s (not measured): MFA {dict(mfa)}, "
        f"console {sum(u.console for u in users)}, access keys {keys} "
        f"({sum(not k.active for u in users for k in u.keys)} inactive)"
    )
    return users


POLICY_GROUPS = 20  # groups the users are spread over, each with an inline policy


def seed_policies(users: List[DemoUser]) -> collections.Counter:
    """Give every user policies, as a real account has them, straight in moto's backend: each user in one of
    POLICY_GROUPS groups (one group in four has the collection's RequireMFA inline), one user in three with a managed
    policy attached (RequireMFA, or an Allow-with-MFA that denies nothing), one in ten with an inline policy. Returns
    how many users with an active key the policies make need MFA (True) or not (False)."""
    from ansible_collections.awssec.mfa.plugins.module_utils.policy import mfa_policy

    backend = iam_backend()
    require = json.dumps(mfa_policy())
    allow_with_mfa = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]})
    read_only = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}]})
    managed = [backend.create_policy("bench", "/", document, name, []).arn
               for name, document in (("RequireMFA", require), ("AllowWithMFA", allow_with_mfa))]
    for number in range(POLICY_GROUPS):
        backend.create_group(f"team-{number:02d}")
        backend.put_group_policy(f"team-{number:02d}", "team", require if number % 4 == 0 else read_only)
    protected = collections.Counter()
    for number, user in enumerate(users):
        backend.add_user_to_group(f"team-{number % POLICY_GROUPS:02d}", user.name)
        covered = (number % POLICY_GROUPS) % 4 == 0
        if number % 3 == 0:
            backend.attach_user_policy(managed[number % 2], user.name)
            covered = covered or number % 2 == 0
        if number % 10 == 0:
            backend.put_user_policy(user.name, "own", read_only)
        if any(key.active for key in user.keys):
            protected[covered] += 1
    return protected


def console_logins(users: List[DemoUser], count: int, seed: int = 2) -> tuple:
    """``count`` console sign-ins of the last 30 days by console users, one in five without MFA (AWS-like server)."""
    rng = random.Random(seed)
    console = [user for user in users if user.console]
    now = time.time()
    return tuple({"user": rng.choice(console).name, "mfa": rng.random() >= 0.2,
                  "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - rng.randint(60, 30 * 86400)))} for dummy in range(count))


# --- running playbooks ----------------------------------------------------------------------

PLAYBOOK_HEAD = """\
- name: Benchmark
  hosts: localhost
  gather_facts: false
  tasks:
"""

REPORT_PLAYBOOK = PLAYBOOK_HEAD + """\
    - name: MFA facts ({source})
      awssec.mfa.iam_mfa_facts:
        source: {source}
        endpoint_url: "{{{{ endpoint_url }}}}"{options}
"""

NOOP_PLAYBOOK = PLAYBOOK_HEAD + """\
    - name: Nothing
      ansible.builtin.meta: noop
"""

# The facts (a) returned, read from a file by a module that needs nothing else: what Ansible's carrying of
# the result costs on its own (the module's exit_json, the worker reading it and copying the facts, the
# result made ready for the callback), with no AWS call, no boto3 and no classification.
CARRY_PLAYBOOK = PLAYBOOK_HEAD + """\
    - name: The same facts, read from a file
      bench_carry:
        path: "{{ facts_path }}"
"""

CARRY_MODULE = """\
#!/usr/bin/python
import json

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec={"path": {"type": "path", "required": True}})
    with open(module.params["path"]) as saved:
        facts = json.load(saved)
    module.exit_json(changed=False, ansible_facts={"iam_mfa": facts})


if __name__ == "__main__":
    main()
"""

# What (a) asks AWS, made by bare boto3 in one Python process: the floor under any tool.
BARE_SCRIPT = """\
import sys
import boto3
url = sys.argv[1]
iam, sts = boto3.client("iam", endpoint_url=url), boto3.client("sts", endpoint_url=url)
sts.get_caller_identity()
iam.get_paginator("list_virtual_mfa_devices").paginate(PaginationConfig={"PageSize": 1000}).build_full_result()
iam.get_paginator("get_account_authorization_details").paginate(PaginationConfig={"PageSize": 1000}).build_full_result()
iam.generate_credential_report()
iam.get_credential_report()["Content"].decode()
iam.get_account_summary()
try:
    iam.list_organizations_features()
except iam.exceptions.ClientError:
    pass
"""

# The seed's own way: every user, one after the other, asked about each credential.
SEED_SCRIPT = """\
import sys
import boto3
iam = boto3.client("iam", endpoint_url=sys.argv[1])
rows = 0
for page in iam.get_paginator("list_users").paginate():
    for user in page["Users"]:
        name = user["UserName"]
        iam.list_mfa_devices(UserName=name)
        try:
            iam.get_login_profile(UserName=name)
        except iam.exceptions.NoSuchEntityException:
            pass
        for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
            iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
        rows += 1
print(rows)
"""

# What an Ansible user writes today with the bundled modules.
PEER_PLAYBOOK = PLAYBOOK_HEAD + """\
    - name: List the IAM users
      amazon.aws.iam_user_info:
        endpoint_url: "{{ endpoint_url }}"
      register: listed
    - name: MFA devices of each user
      amazon.aws.iam_mfa_device_info:
        user_name: "{{ item.user_name }}"
        endpoint_url: "{{ endpoint_url }}"
      loop: "{{ listed.iam_users[:peer_users | int] }}"
      loop_control: {label: "{{ item.user_name }}"}
      register: mfa_devices
    - name: Access keys of each user
      amazon.aws.iam_access_key_info:
        user_name: "{{ item.user_name }}"
        endpoint_url: "{{ endpoint_url }}"
      loop: "{{ listed.iam_users[:peer_users | int] }}"
      loop_control: {label: "{{ item.user_name }}"}
      register: access_keys
"""
PEER_LOOP_ACTIONS = ("ListMFADevices", "ListAccessKeys")  # what the two loops send; iam_user_info sends the rest

# A quiet stdout callback: prints, at the end, each task's start and end and the few module results
# the benchmark needs. Dumping whole results (the json callback: about 19 MB at 5,000 users) would
# add seconds to the runs it measures.
CALLBACK = """\
import collections
import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "bench_summary"

    def __init__(self):
        super().__init__()
        self.tasks = []

    def _end_task(self):
        if self.tasks and "end" not in self.tasks[-1]:
            self.tasks[-1]["end"] = time.time()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._end_task()
        self.tasks.append({"name": task.get_name(), "start": time.time()})

    def v2_runner_on_ok(self, result):
        task, res = self.tasks[-1], result._result
        task["changed"] = bool(res.get("changed"))
        facts = res.get("ansible_facts", {}).get("iam_mfa")
        if facts:
            task["api_calls"] = facts["api_calls"]
            task["counts"] = dict(facts["summary"]["counts"])
            task["keys_mfa_protected"] = dict(collections.Counter(str(u["keys_mfa_protected"]) for u in facts["users"]))
            task["mfa_device_reads"] = facts.get("mfa_device_reads")
            task["evidence"] = facts.get("evidence")
            if os.environ.get("BENCH_SAVE_FACTS"):
                with open(os.environ["BENCH_SAVE_FACTS"], "w") as saved:
                    json.dump(facts, saved)
        elif "api_calls" in res:  # iam_mfa_enforce
            task["api_calls"] = res["api_calls"]
            task["summary"] = {k: v for k, v in res["summary"].items() if isinstance(v, int)}
            task["results"] = dict(collections.Counter(entry["result"] for entry in res["actions"]))

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._display.display(json.dumps(result._result, default=str)[:3000], stderr=True)

    v2_runner_on_unreachable = v2_runner_item_on_failed = v2_runner_on_failed

    def v2_playbook_on_stats(self, stats):
        self._end_task()
        self._display.display(json.dumps(self.tasks))
"""


@dataclass
class Run:
    wall: float  # seconds, the whole ansible-playbook run
    api_calls: int  # requests the server served
    actions: collections.Counter
    tasks: List[Dict]  # per task: name, start, end, changed; api_calls and counts (iam_mfa_facts) or summary and results (iam_mfa_enforce)

    def task_seconds(self, task: int) -> float:
        return self.tasks[task]["end"] - self.tasks[task]["start"]


def ansible_env(url: str, workdir: Path) -> Dict[str, str]:
    """The Makefile's environment, so that this also runs without make, pointed at the server."""
    env = aws_env(url)
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"),
        PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / '.collections'}",
        ANSIBLE_CALLBACK_PLUGINS=str(workdir / "callback_plugins"),
        ANSIBLE_STDOUT_CALLBACK="bench_summary",
    )
    return env


def prepare(workdir: Path) -> None:
    (workdir / "inventory.ini").write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    (workdir / "callback_plugins").mkdir()
    (workdir / "callback_plugins" / "bench_summary.py").write_text(CALLBACK)
    (workdir / "library").mkdir()  # beside the playbooks, where Ansible looks for modules
    (workdir / "library" / "bench_carry.py").write_text(CARRY_MODULE)


def run_playbook(server: MotoServer, workdir: Path, name: str, text: str, extra_vars: Dict, options: Sequence[str] = (),
                 save_facts: Optional[Path] = None) -> Run:
    """Run the playbook ``text`` (``options`` such as ``--check`` are added to the command); the server counts from zero.
    With ``save_facts``, the facts iam_mfa_facts returned are written there as JSON."""
    playbook = workdir / f"{name}.yml"
    playbook.write_text(text)
    command = [str(BIN / "ansible-playbook"), "-i", str(workdir / "inventory.ini"), str(playbook), "-e", json.dumps(extra_vars), *options]
    server.reset_counts()
    start = time.perf_counter()
    env = ansible_env(server.url, workdir)
    if save_facts:
        env["BENCH_SAVE_FACTS"] = str(save_facts)
    process = subprocess.run(command, env=env, capture_output=True, text=True, cwd=workdir, check=False)
    wall = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"{name}: ansible-playbook exited {process.returncode}\n{process.stdout[-3000:]}\n{process.stderr[-3000:]}")
    return Run(wall, server.requests, server.actions, json.loads(process.stdout.splitlines()[-1]))


# --- report ---------------------------------------------------------------------------------


@dataclass
class Row:
    approach: str
    users: int
    api_calls: float
    wall: float
    per_user: bool = True  # False: the row is not a per-user figure (a subset run)

    def cells(self) -> List[str]:
        per_call = f"{self.api_calls / self.users:.4g}" if self.per_user else "-"
        per_second = f"{self.wall / self.users:.3g}" if self.per_user else "-"
        return [self.approach, str(self.users), f"{self.api_calls:,.0f}", per_call, f"{self.wall:,.1f}", per_second]


def print_table(rows: List[Row]) -> None:
    print_columns(["approach", "users", "API calls", "calls/user", "wall s", "s/user"], [row.cells() for row in rows])


def print_columns(header: List[str], cells: List[List[str]], left: Sequence[int] = (0,)) -> None:
    """A plain-text table: the columns ``left`` left-aligned, the others right-aligned."""
    lines = [header] + cells
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for n, line in enumerate(lines):
        print("  ".join(cell.ljust(w) if i in left else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths))).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def actions_text(actions: collections.Counter) -> str:
    return ", ".join(f"{name} {count}" for name, count in actions.most_common())


def peers_section(args) -> None:
    """(a) to (e) on one server of ``args.users`` users."""
    users, peer = args.users, min(args.peer_users, args.users)

    with MotoServer() as server, tempfile.TemporaryDirectory(prefix="awssec-bench-") as tmp:
        workdir = Path(tmp)
        prepare(workdir)
        seeded = seed(server, users)
        # From here on the server behaves like AWS (tests/support/aws_like.py): IAM lists in pages of 100 unless a
        # caller asks for more (at most 1,000), and a credential report that is generated and dated. It is ready at the
        # first poll (STARTED, then COMPLETE), as in earlier runs: how long AWS takes is the account's, not the module's.
        server.aws_like.reset(paging=True, report=True, report_polls=0)
        extra = {"endpoint_url": server.url, "peer_users": peer}

        print("\n(a) iam_mfa_facts source=credential_report ...", flush=True)
        report = run_playbook(server, workdir, "report", REPORT_PLAYBOOK.format(source="credential_report", options=""), extra)
        print(f"    {report.wall:.1f} s; server: {actions_text(report.actions)}")
        print("(b) iam_mfa_facts source=live ...", flush=True)
        live = run_playbook(server, workdir, "live", REPORT_PLAYBOOK.format(source="live", options=""), extra)
        print(f"    {live.wall:.1f} s; server: {actions_text(live.actions)}")
        print(f"(c) amazon.aws iam_user_info + per-user loop, on the first {peer} of {users} users only (too slow for all) ...", flush=True)
        peer_run = run_playbook(server, workdir, "peer", PEER_PLAYBOOK, extra)
        print(f"    {peer_run.wall:.1f} s; server: {actions_text(peer_run.actions)}")

        # The same account once every user has policies: what reading them (keys_mfa_protected) costs.
        protected = seed_policies(seeded)
        server.aws_like.reset(paging=True, report=True, report_polls=0)
        print(f"(d) as (a), every user in groups with policies (keys that need MFA: {protected[True]}, that do not: {protected[False]}) ...", flush=True)
        policies = run_playbook(server, workdir, "policies", REPORT_PLAYBOOK.format(source="credential_report", options=""), extra)
        print(f"    {policies.wall:.1f} s; server: {actions_text(policies.actions)}")
        # Everything this collection can read: devices told apart (one call per user whose MFA is not virtual) and
        # 30 days of console sign-ins from CloudTrail (one call per 50 events, at most 2 a second).
        server.aws_like.reset(paging=True, report=True, report_polls=0, console_logins=console_logins(seeded, args.sign_ins))
        strict = "\n        region: us-east-1\n        require_phishing_resistant_mfa: true\n        evidence_days: 30"
        print(f"(e) as (d), with require_phishing_resistant_mfa and evidence_days=30 ({args.sign_ins} console sign-ins) ...", flush=True)
        everything = run_playbook(server, workdir, "everything", REPORT_PLAYBOOK.format(source="credential_report", options=strict), extra)
        print(f"    {everything.wall:.1f} s; server: {actions_text(everything.actions)}")

    # (c) scaled to every user: iam_user_info already read all of them; the loops are scaled up.
    loop_seconds = peer_run.task_seconds(1) + peer_run.task_seconds(2)
    loop_calls = sum(peer_run.actions[action] for action in PEER_LOOP_ACTIONS)
    scale = users / peer
    peer_wall = peer_run.wall + loop_seconds * (scale - 1)
    peer_calls = peer_run.api_calls + loop_calls * (scale - 1)

    print(f"\nResults at {users} users ({os.cpu_count()} CPUs; server-side API call counts; wall = whole ansible-playbook run)\n")
    print_table([
        Row("(a) iam_mfa_facts credential_report", users, report.api_calls, report.wall),
        Row("(b) iam_mfa_facts live", users, live.api_calls, live.wall),
        Row(f"(c) amazon.aws loop, measured: list {users}, loop {peer}", peer, peer_run.api_calls, peer_run.wall, per_user=False),
        Row(f"(c) amazon.aws loop, scaled to {users}", users, peer_calls, peer_wall),
    ])
    print(
        f"\n(c) was run on {peer} users only: iam_user_info took {peer_run.task_seconds(0):.1f} s for all {users} users; "
        f"the two loops took {loop_seconds:.1f} s and {loop_calls} calls for {peer} users, scaled x{scale:g}."
    )
    polls = report.actions["GenerateCredentialReport"] - 1
    if polls:
        print(f"(a) includes {polls} wait(s) for the report (0.1 s, then doubling): the server answers STARTED first, as AWS does; "
              "each INPROGRESS adds one.")
    print(f"(a) server calls by action: {actions_text(report.actions)}")
    print(f"Module's own api_calls: (a) {report.tasks[0]['api_calls']}, (b) {live.tasks[0]['api_calls']}")
    counts_a = report.tasks[0]["counts"]
    counts_b = live.tasks[0]["counts"]
    expected = expected_counts(seeded, datetime.now(timezone.utc).date())[0]
    same = "same" if counts_a == counts_b == expected else "DIFFERENT"
    print(f"Statuses ({same}): (a) {counts_a}; (b) {counts_b}; seeded {expected}")

    found = policies.tasks[0]["keys_mfa_protected"]
    exact = found.get("True") == protected[True] and found.get("False") == protected[False]
    print(f"(d) keys_mfa_protected: {found} ({'as seeded' if exact else f'SEEDED {dict(protected)}'}); "
          f"{policies.api_calls} calls, {policies.wall - report.wall:+.1f} s against (a)")
    hardware = sum(user.mfa == "hardware" for user in seeded)
    evidence = everything.tasks[0]["evidence"] or {}
    print(f"(e) {everything.api_calls} calls: those of (d), {everything.tasks[0]['mfa_device_reads']} ListMFADevices (users whose MFA is not "
          f"virtual: {hardware}) and {evidence.get('calls')} LookupEvents for {evidence.get('events')} sign-ins; "
          f"{everything.wall - policies.wall:+.1f} s against (d) (at least {max(0, (evidence.get('calls') or 1) - 1) / 2:.1f} s of pacing)")

    speedup_live = live.wall / report.wall
    speedup_peer = peer_wall / report.wall  # per user: both divided by the same number of users
    print()
    for label, value, target, ok in [
        ("(a) vs (b) speed-up, wall time", f"{speedup_live:.1f}x", f">= {TARGET_REPORT_VS_LIVE}x", speedup_live >= TARGET_REPORT_VS_LIVE),
        ("(a) vs (c) speed-up, wall time per user", f"{speedup_peer:.1f}x", f">= {TARGET_REPORT_VS_PEER}x", speedup_peer >= TARGET_REPORT_VS_PEER),
        ("(a) API calls", str(report.api_calls), f"<= {TARGET_REPORT_CALLS}", report.api_calls <= TARGET_REPORT_CALLS),
        ("(d) API calls, every user with policies", str(policies.api_calls), f"<= {TARGET_REPORT_CALLS}", policies.api_calls <= TARGET_REPORT_CALLS),
    ]:
        print(f"{label:<40} {value:>8}   target {target:<7}  {verdict(ok)}")
    if users != 5000:
        print("(the targets are set for 5,000 users)")
    print("Served by the AWS-like server: IAM pages of 100 unless asked for more (at most 1,000), the credential report generated and dated.")


def run_script(server: MotoServer, workdir: Path, name: str, text: str) -> Run:
    """Run the Python script ``text`` (argument: the server's URL) in a process of its own, as the playbooks run."""
    script = workdir / f"{name}.py"
    script.write_text(text)
    server.reset_counts()
    start = time.perf_counter()
    process = subprocess.run([sys.executable, str(script), server.url], env=aws_env(server.url), capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"{name}: exited {process.returncode}\n{process.stderr[-3000:]}")
    return Run(wall, server.requests, server.actions, [])


def median(values: List[float]) -> float:
    return sorted(values)[len(values) // 2]


def floor_section(workdir: Path) -> List[List]:
    """At each of FLOOR_USERS, the report already generated: a no-op playbook, bare boto3, (a), and (a)'s facts carried
    from a file (what Ansible's handling of the result costs alone); medians of FLOOR_REPEATS."""
    rows = []
    for users in FLOOR_USERS:
        with MotoServer() as server:
            seed(server, users)
            server.aws_like.reset(paging=True, report=True, report_polls=0)
            iam = boto3.client("iam", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                               aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
            while iam.generate_credential_report()["State"] != "COMPLETE":  # generated: what follows finds it ready
                time.sleep(0.1)
            walls = collections.defaultdict(list)
            print(f"floor at {users} users: no-op playbook, bare boto3, iam_mfa_facts, its facts carried, {FLOOR_REPEATS} times each, "
                  "interleaved ...", flush=True)
            saved = workdir / f"floor-{users}.json"
            for dummy in range(FLOOR_REPEATS):
                walls["noop"].append(run_playbook(server, workdir, "noop", NOOP_PLAYBOOK, {}).wall)
                bare = run_script(server, workdir, "bare", BARE_SCRIPT)
                walls["bare"].append(bare.wall)
                module = run_playbook(server, workdir, "floor", REPORT_PLAYBOOK.format(source="credential_report", options=""),
                                      {"endpoint_url": server.url}, save_facts=saved)
                walls["module"].append(module.wall)
                carried = run_playbook(server, workdir, "carry", CARRY_PLAYBOOK, {"facts_path": str(saved)})
                if carried.api_calls or carried.tasks[0]["counts"] != module.tasks[0]["counts"]:
                    raise SystemExit(f"the carried facts are not iam_mfa_facts': {carried.tasks[0]} / {module.tasks[0]}")
                walls["carried"].append(carried.wall)
            if bare.actions != module.actions:
                raise SystemExit(f"bare boto3 did not make iam_mfa_facts' calls: {actions_text(bare.actions)} / {actions_text(module.actions)}")
            noop, bare_wall, module_wall, carried_wall = (median(walls[k]) for k in ("noop", "bare", "module", "carried"))
            rows.append([users, module.api_calls, noop, bare_wall, module_wall, module_wall / (noop + bare_wall), carried_wall, walls])
            print(f"    calls (each): {actions_text(module.actions)}")
    return rows


def first_section(workdir: Path) -> Dict:
    """At FLOOR_USERS[0] users: a first run (no report yet) against the seed's per-user sequential boto3."""
    users = FLOOR_USERS[0]
    with MotoServer() as server:
        seed(server, users)
        print(f"first run at {users} users: iam_mfa_facts with no report generated yet, then the seed's per-user boto3 ...", flush=True)
        server.aws_like.reset(paging=True, report=True, report_polls=0)  # no report: STARTED, then ready at the next poll
        first = run_playbook(server, workdir, "first", REPORT_PLAYBOOK.format(source="credential_report", options=""), {"endpoint_url": server.url})
        seed_way = run_script(server, workdir, "seed_way", SEED_SCRIPT)
    return {"users": users, "first": first, "seed": seed_way}


def live_section(workdir: Path) -> Dict:
    """At FLOOR_USERS[0] users, each answer LIVE_LATENCY late: source=live with concurrency 1, then 8; the same users."""
    users = FLOOR_USERS[0]
    runs, saved = {}, {}
    with MotoServer() as server:
        seed(server, users)
        server.aws_like.reset(paging=True, latency=LIVE_LATENCY)
        for concurrency in (8, 1):
            print(f"live at {users} users, concurrency {concurrency}, every answer {LIVE_LATENCY * 1000:.0f} ms late ...", flush=True)
            path = workdir / f"live-{concurrency}.json"
            runs[concurrency] = run_playbook(server, workdir, f"live{concurrency}",
                                             REPORT_PLAYBOOK.format(source="live", options=f"\n        concurrency: {concurrency}"),
                                             {"endpoint_url": server.url}, save_facts=path)
            saved[concurrency] = json.loads(path.read_text())["users"]
            print(f"    {runs[concurrency].wall:.1f} s, {runs[concurrency].api_calls} calls")
    return {"users": users, "runs": runs, "same": saved[1] == saved[8] and len(saved[1]) == users}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--users", type=int, default=5000, help="users to seed for (a)-(e) (default 5000)")
    parser.add_argument("--peer-users", type=int, default=200, help="users (c) loops over before scaling (default 200)")
    parser.add_argument("--sign-ins", type=int, default=500, help="console sign-ins CloudTrail holds for (e) (default 500)")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"which to run, of {','.join(SECTIONS)} (default all)")
    args = parser.parse_args(argv)
    sections = [name.strip() for name in args.sections.split(",") if name.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"--sections: unknown {sorted(unknown)}; choose among {','.join(SECTIONS)}")
    if not COLLECTION_LINK.exists():
        raise SystemExit(f"{COLLECTION_LINK} is missing: run `make setup` first")
    if "peers" in sections:
        peers_section(args)
    results = []
    with tempfile.TemporaryDirectory(prefix="awssec-bench-") as tmp:
        workdir = Path(tmp)
        prepare(workdir)
        floor = floor_section(workdir) if "floor" in sections else []
        first = first_section(workdir) if "first" in sections else None
        live = live_section(workdir) if "live" in sections else None
    if floor:
        print(f"\nThe floor: wall seconds, medians of {FLOOR_REPEATS} interleaved runs, the credential report already generated\n")
        print_columns(["users", "calls", "no-op playbook", "bare boto3", "sum", "iam_mfa_facts", "ratio", "facts carried", "carrying"],
                      [[f"{u:,}", str(c), f"{n:.2f}", f"{b:.2f}", f"{n + b:.2f}", f"{m:.2f}", f"{r:.2f}", f"{k:.2f}", f"{k - n:.2f}"]
                       for u, c, n, b, m, r, k, w in floor])
        print("\n    facts carried: the same facts returned by a module that reads them from a file (no AWS, no boto3);"
              "\n    carrying: that run less the no-op playbook, what Ansible's handling of the result costs alone")
        for u, c, n, b, m, r, k, walls in floor:
            print(f"    {u:,} users: iam_mfa_facts is {m - n - b:.2f} s over the floor; carrying its result alone costs {k - n:.2f} s, "
                  f"so against bare boto3 plus the facts carried it is {m / (b + k):.2f}; each run: "
                  + "; ".join(f"{key} {', '.join(f'{v:.2f}' for v in vs)}" for key, vs in walls.items()))
            results.append((f"iam_mfa_facts / (no-op + bare boto3), {u:,} users", f"{r:.2f}", f"<= {TARGET_FLOOR_RATIO}", r <= TARGET_FLOOR_RATIO))
    if first:
        ratio = first["seed"].wall / first["first"].wall
        print(f"\nFirst run at {first['users']:,} users: iam_mfa_facts {first['first'].wall:.1f} s, {first['first'].api_calls} calls "
              f"({actions_text(first['first'].actions)}); the seed's per-user boto3 {first['seed'].wall:.1f} s, {first['seed'].api_calls} calls")
        results.append((f"first run vs the seed's per-user boto3, {first['users']:,} users", f"{ratio:.1f}x", f">= {TARGET_FIRST_VS_SEED}x",
                        ratio >= TARGET_FIRST_VS_SEED))
    if live:
        one, many = live["runs"][1], live["runs"][8]
        ratio = one.wall / many.wall
        print(f"\nsource=live at {live['users']:,} users, each answer {LIVE_LATENCY * 1000:.0f} ms late: concurrency 1 {one.wall:.1f} s, "
              f"concurrency 8 {many.wall:.1f} s; {one.api_calls} and {many.api_calls} calls; "
              f"users {'the same' if live['same'] else 'DIFFERENT'}")
        results.append((f"source=live concurrency 8 vs 1, {live['users']:,} users", f"{ratio:.1f}x", f">= {TARGET_LIVE_CONCURRENCY}x",
                        ratio >= TARGET_LIVE_CONCURRENCY and live["same"]))
    if results:
        print()
    for label, value, target, ok in results:
        print(f"{label:<58} {value:>6}   target {target:<7}  {verdict(ok)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
