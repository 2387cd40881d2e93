# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The report playbook saves the ``ocsf`` format: OCSF Detection Finding records that py-ocsf-models accepts, one per
user and reason and per root reason of the same run's facts."""

import json

from py_ocsf_models.events.findings.detection_finding import DetectionFinding

from ansible_collections.awssec.mfa.plugins.module_utils.findings import finding_id
from ansible_collections.awssec.mfa.plugins.module_utils.ocsf import render_ocsf
from tests.integration.conftest import run
from tests.support.demo_account import EXCLUDE_USERS


def test_the_report_playbook_saves_ocsf_records_of_every_finding(demo, env, tmp_path):
    saved = tmp_path / "mfa-findings.json"
    variables = {"mfa_report_aws_endpoint_url": demo.server.url, "mfa_report_exclude_users": EXCLUDE_USERS,
                 "mfa_report_formats": ["json", "ocsf"], "mfa_report_save_path": str(saved), "mfa_report_save_format": "ocsf"}
    process = run(["ansible-playbook", "awssec.mfa.report", "-e", json.dumps(variables)], dict(env, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json"))
    tasks = json.loads(process.stdout)["plays"][0]["tasks"]
    printed = next(t for t in tasks if "Print the report" in t["task"]["name"])["hosts"]["localhost"]["results"]
    facts = json.loads("\n".join(printed[0]["msg"]))  # the JSON report of the same run
    records = json.loads(saved.read_text())

    pairs = [(user["username"], reason) for user in facts["users"] for reason in user["reasons"]]
    assert len(records) == len(pairs) + len(facts["root"]["reasons"]) and len(pairs) > 20 and facts["root"]["reasons"]
    for record in records:
        model = DetectionFinding.model_validate_json(json.dumps(record), strict=True)
        assert model.model_dump(mode="json", exclude_unset=True) == record  # nothing the model does not know
        assert model.class_uid == 2004 and model.cloud.account.uid == facts["account_id"] == "123456789012"
    account = facts["account_id"]
    assert [r["finding_info"]["uid"] for r in records] == ([finding_id(account, reason, name) for name, reason in pairs]
                                                           + [finding_id(account, reason) for reason in facts["root"]["reasons"]])
    # What the filter renders from those facts (ansible-core before 2.19 writes it again, unindented: copy's content that reads
    # as a list is parsed and dumped, as for the json format)
    assert records == json.loads(render_ocsf(facts))
    assert json.loads("\n".join(printed[1]["msg"])) == records  # the printed format, too
    assert oct(saved.stat().st_mode & 0o777) == "0o640"
