# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import json
import os
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone

from ansible.errors import AnsibleFilterError
from jinja2 import Environment, TemplateSyntaxError, meta

from ansible_collections.awssec.mfa.plugins.module_utils.guard import enforcement_outcome, findings, verdict, verdicts
from ansible_collections.awssec.mfa.plugins.module_utils.org import aggregate, host_accounts
from ansible_collections.awssec.mfa.plugins.module_utils.records import isoformat
from ansible_collections.awssec.mfa.plugins.module_utils.report import render_enforcement
from ansible_collections.awssec.mfa.plugins.module_utils.report_doc import render
from ansible_collections.awssec.mfa.plugins.module_utils.rotate import render_rotation
from ansible_collections.awssec.mfa.plugins.module_utils.workstation_render import render_login


def mfa_report(facts, output_format="table", previous=None):
    """Render the iam_mfa facts as a report (table, json, csv, markdown, html or ocsf), with trends against ``previous``."""
    if not isinstance(facts, dict) or "users" not in facts or "summary" not in facts:
        raise AnsibleFilterError("mfa_report expects the iam_mfa facts of awssec.mfa.iam_mfa_facts (a dict with users and summary)")
    if previous and (not isinstance(previous, dict) or "users" not in previous or "summary" not in previous):
        raise AnsibleFilterError("mfa_report: previous must be an earlier JSON report (a dict with users and summary)")
    try:
        return render(facts, output_format, previous or None)
    except ValueError as e:
        raise AnsibleFilterError(f"mfa_report: {e}")
    except (KeyError, TypeError) as e:
        raise AnsibleFilterError(f"mfa_report: the facts are incomplete or malformed ({e!r})")


def mfa_previous_report(text, name="the previous report"):
    """An earlier JSON report, from the text of its file (or already parsed): its data, or an error that names the file
    and what was expected."""
    expected = "the JSON report that mfa_report_save_path=report.json writes (an object with users and summary)"
    if isinstance(text, (str, bytes)):
        try:
            text = json.loads(text)
        except ValueError as e:
            raise AnsibleFilterError(f"mfa_report_previous: {name} is not JSON ({e}); expected {expected}")
    if not isinstance(text, Mapping) or "users" not in text or "summary" not in text:
        raise AnsibleFilterError(f"mfa_report_previous: {name} is JSON but not a report of awssec.mfa; expected {expected}")
    return dict(text)


def mfa_enforcement_report(result, check_mode=False, warn_only=False):
    """Render the result of awssec.mfa.iam_mfa_enforce as the enforcement preview (check mode), the preview of a warning
    (warn_only) or the results."""
    if not isinstance(result, dict) or "actions" not in result or "summary" not in result:
        raise AnsibleFilterError("mfa_enforcement_report expects the registered result of awssec.mfa.iam_mfa_enforce (a dict with actions and summary)")
    try:
        return render_enforcement(result, bool(check_mode), warn_only=bool(warn_only))
    except (KeyError, TypeError) as e:
        raise AnsibleFilterError(f"mfa_enforcement_report: the result is incomplete or malformed ({e!r})")


def mfa_login_report(result, quiet=False):
    """Render the result of awssec.mfa.aws_mfa_session as the seed's per-profile lines."""
    if not isinstance(result, dict) or "profiles" not in result:
        raise AnsibleFilterError("mfa_login_report expects the registered result of awssec.mfa.aws_mfa_session (a dict with profiles)")
    try:
        return render_login(result, bool(quiet))
    except (KeyError, TypeError) as e:
        raise AnsibleFilterError(f"mfa_login_report: the result is incomplete or malformed ({e!r})")


def mfa_rotation_report(results):
    """Render results of awssec.mfa.access_key_rotate (one result, or the registered result of a loop) as the seed's lines."""
    items = results.get("results", [results]) if isinstance(results, dict) else results
    if not isinstance(items, list) or not all(isinstance(r, dict) for r in items):
        raise AnsibleFilterError("mfa_rotation_report expects the registered result of awssec.mfa.access_key_rotate (or of a loop over it)")
    lines = []
    for result in items:
        lines.extend(render_rotation(result, result.get("item") if isinstance(result.get("item"), str) else None))
    return lines


def mfa_org_facts(results):
    """Aggregate per-account results (account_id, account_name, facts or error) into one set of facts."""
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise AnsibleFilterError("mfa_org_facts expects a list of per-account results (account_id, account_name, facts or error)")
    return aggregate(results, isoformat(datetime.now(timezone.utc)))


def mfa_org_accounts(hosts):
    """The ``accounts`` of iam_mfa_org_facts from account hosts' variables (account_id, account_name, role_arn, aws_profile)."""
    if not isinstance(hosts, list) or not all(isinstance(h, Mapping) for h in hosts):
        raise AnsibleFilterError("mfa_org_accounts expects a list of account hosts' variables (account_id, account_name, role_arn, aws_profile)")
    return host_accounts(hosts)


def user_path(path):
    """A path the user gave: ``~`` expanded, a relative path joined to the folder ansible-playbook was run from."""
    if path is None or str(path) == "":
        return ""
    return os.path.abspath(os.path.expanduser(str(path)))


def template_variables(text):
    """The names a Jinja template reads and does not set itself, sorted (the template is parsed, not rendered)."""
    if not isinstance(text, str):
        raise AnsibleFilterError("template_variables expects the text of a template")
    try:
        return sorted(meta.find_undeclared_variables(Environment().parse(text)))
    except TemplateSyntaxError as e:
        raise AnsibleFilterError(f"template_variables: the template is not valid Jinja (line {e.lineno}: {e.message})")


def mfa_guard_verdict(change, facts=None):
    """What the MFA guard does about one IAM change of the awssec.mfa.iam_changes event source, from the iam_mfa facts of
    its user read again live (none when the change needs no reading)."""
    if not isinstance(change, Mapping) or "action" not in change or "user" not in change:
        raise AnsibleFilterError("mfa_guard_verdict expects the iam_change of an awssec.mfa.iam_changes event (with action and user)")
    if facts and (not isinstance(facts, Mapping) or not {"users", "account_id", "partition", "options"} <= set(facts)):
        raise AnsibleFilterError("mfa_guard_verdict: facts must be the iam_mfa facts of awssec.mfa.iam_mfa_facts (with users, account_id, "
                                 "partition and options)")
    return verdict(dict(change), facts or None)


def _facts_problem(name, facts):
    if facts and (not isinstance(facts, Mapping) or not {"users", "account_id", "partition", "options"} <= set(facts)):
        raise AnsibleFilterError(f"{name}: facts must be the iam_mfa facts of awssec.mfa.iam_mfa_facts (with users, account_id, partition and options)")


def _as_list(value):
    """A list of the items of a list or of what Jinja's map gives (a generator); None for anything else."""
    return list(value) if isinstance(value, Iterable) and not isinstance(value, (str, Mapping)) else None


def mfa_guard_verdicts(events, facts=None, concerned=None, exempt_tag="mfa-exempt", targets=("non-compliant",), unreached=None):
    """What the MFA guard does about each change of one account's events (a batch's share), from the iam_mfa facts of
    their users read again live; a group's or policy's change gets one verdict per user it concerns."""
    events = _as_list(events)
    if events is None or not all(isinstance(e, Mapping) and isinstance(e.get("iam_change"), Mapping) for e in events):
        raise AnsibleFilterError("mfa_guard_verdicts expects events checked by awssec.mfa.iam_change_event (each with iam_change)")
    _facts_problem("mfa_guard_verdicts", facts)
    return verdicts([{"iam_change": dict(e["iam_change"])} for e in events], facts or None, dict(concerned or {}), exempt_tag,
                    list(targets or ()), unreached or None)


def mfa_guard_findings(found, enforce=False, check_mode=False, breaker=None, results=(), failed=None):
    """The findings the MFA guard records for its verdicts: each with how it was handled (enforce, changed, breaker,
    error, handled_at), from the circuit breaker's answer and the registered results of the role's runs."""
    found = _as_list(found)
    if found is None or not all(isinstance(v, Mapping) and "act" in v and "restore" in v for v in found):
        raise AnsibleFilterError("mfa_guard_findings expects the verdicts of awssec.mfa.mfa_guard_verdicts")
    changed, errors = [], dict(failed or {})
    for result in results or ():
        done, failures = enforcement_outcome(result if isinstance(result, Mapping) else None)
        changed += done
        errors.update(failures)
    breaker = breaker if isinstance(breaker, Mapping) else {}
    return findings([dict(v) for v in found], {"enforce": bool(enforce), "check_mode": bool(check_mode), "changed_users": changed, "failed": errors,
                                               "breaker_why": breaker.get("why"), "denied_users": breaker.get("denied_users") or [],
                                               "handled_at": datetime.now(timezone.utc).isoformat()})


class FilterModule:
    def filters(self):
        return {"mfa_report": mfa_report, "mfa_enforcement_report": mfa_enforcement_report,
                "mfa_login_report": mfa_login_report, "mfa_rotation_report": mfa_rotation_report, "mfa_org_facts": mfa_org_facts,
                "mfa_org_accounts": mfa_org_accounts, "user_path": user_path, "mfa_previous_report": mfa_previous_report,
                "template_variables": template_variables,
                "mfa_guard_verdict": mfa_guard_verdict, "mfa_guard_verdicts": mfa_guard_verdicts, "mfa_guard_findings": mfa_guard_findings}
