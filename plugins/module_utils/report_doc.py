# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The report in each of its formats (``render``): the table, JSON and CSV of report.py, the OCSF findings of ocsf.py, and
here Markdown and one self-contained HTML page with inline SVG charts (no external asset, no script).

Pure functions of the facts (one account's, or aggregated by org.aggregate) and of the trends.
"""

from __future__ import annotations

from html import escape
from typing import Dict, List, Optional, Sequence, Tuple

from ansible_collections.awssec.mfa.plugins.module_utils.ocsf import render_ocsf
from ansible_collections.awssec.mfa.plugins.module_utils.org import trends
from ansible_collections.awssec.mfa.plugins.module_utils.report import (
    COMPLIANCE_TARGET,
    COMPLIANCE_WARNING,
    FORMATS,
    ROOT_HEADERS,
    STATUS_ROWS,
    percent_text,
    breakdown,
    evidence_line,
    findings,
    recommendations,
    root_cells,
    root_credentials_cell,
    render_csv,
    render_json,
    render_table,
    roots,
)

GOOD, WARNING, BAD = "#2e7d32", "#ef6c00", "#c62828"
STATUS_COLOURS = {"compliant": "#2e7d32", "non-compliant": "#c62828", "grace-period": "#ef6c00", "exempted": "#607d8b"}
AGE_BUCKETS: Tuple[Tuple[str, int, Optional[int]], ...] = (
    ("0-30", 0, 30), ("31-90", 31, 90), ("91-180", 91, 180), ("181-365", 181, 365), ("366-730", 366, 730), (">730", 731, None))


def key_age_histogram(users: Sequence[Dict]) -> List[Tuple[str, int]]:
    """Active access keys per age bucket (days)."""
    ages = [k["age_days"] for u in users for k in u["access_keys"] if k["status"] == "Active" and k.get("age_days") is not None]
    return [(label, sum(1 for a in ages if a >= low and (high is None or a <= high))) for label, low, high in AGE_BUCKETS]


def compliance_colour(pct: Optional[float]) -> str:
    """Green from the target up, amber from the warning level, red below (and when there is nothing to measure)."""
    if pct is None:
        return WARNING
    return GOOD if pct >= COMPLIANCE_TARGET else WARNING if pct >= COMPLIANCE_WARNING else BAD


THRESHOLDS = f"green at {COMPLIANCE_TARGET}% and above, amber from {COMPLIANCE_WARNING}%, red below {COMPLIANCE_WARNING}%"


def _root_card(facts: Dict) -> str:
    """The root user's card: what it holds and what is missing (one account), or how many root users hold nothing (many)."""
    found = roots(facts)
    if len(found) != 1 or facts.get("accounts"):
        bare = sum(1 for dummy, root in found if root.get("credentials") == "none")
        return _card(f"{bare}/{len(found)}", "Root users without credentials (none to protect)", GOOD if bare == len(found) else BAD)
    root = found[0][1]
    if root.get("credentials") == "none":
        return _card("none", "Root credentials: no password, access keys or signing certificates (the best state)", GOOD)
    missing = [text for reason, text in (("root_without_mfa", "MFA"), ("root_access_keys", "no access keys"),
                                         ("root_credentials_present", "deleting them centrally")) if reason in (root.get("reasons") or ())]
    label = "Root credentials" + (f"; missing: {', '.join(missing)}" if missing else "")
    return _card(root_credentials_cell(root), label, BAD if missing else GOOD)


def _root_rows(facts: Dict) -> List[Tuple[str, ...]]:
    """Account, the root_cells and the root findings, per account."""
    return [(name.rstrip(": ") or "this account",) + root_cells(root) + (", ".join(root.get("reasons") or ()) or "none",)
            for name, root in roots(facts)]


ROOT_TABLE = ("Account",) + ROOT_HEADERS + ("Findings",)


def _title(facts: Dict) -> str:
    return f"IAM MFA compliance: {facts.get('account_id') or 'account'}"


# --- Markdown ------------------------------------------------------------------------------------

def _md_table(headers: Sequence[str], rows: Sequence[Sequence]) -> List[str]:
    def cell(value) -> str:
        return str("" if value is None else value).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for dummy in headers) + "|"]
    return lines + ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]


def render_markdown(facts: Dict, trend: Optional[Dict] = None) -> str:
    summary, users = facts["summary"], facts["users"]
    lines = [f"# {_title(facts)}", "", f"Generated {facts['generated_at']} from {facts['source']}.", ""]
    if facts.get("evidence"):
        lines += [evidence_line(facts["evidence"]) + ".", ""]
    lines += ["## Summary", ""]
    rows = [(label, summary["counts"][s], percent_text(summary["percentages"][s]), risk) for s, label, risk in STATUS_ROWS]
    lines += _md_table(("Status", "Count", "Percentage", "Risk"), rows + [("**Total**", summary["total"], "", "")])
    lines += ["", f"Overall compliance: **{percent_text(summary['compliance_pct'])}** (target 95%+)", ""]
    if facts.get("accounts"):
        lines += ["## Accounts", ""]
        lines += _md_table(("Account", "ID", "Status", "Users", "Compliant", "Non-compliant", "Compliance"), [
            (a["account_name"], a["account_id"], a["status"] if a["status"] == "ok" else f"FAILED: {a['error']}",
             *((a["summary"]["total"], a["summary"]["counts"]["compliant"], a["summary"]["counts"]["non-compliant"],
                percent_text(a["summary"]["compliance_pct"])) if a["summary"] else ("", "", "", "")))
            for a in facts["accounts"]])
        lines.append("")
    if trend:
        lines += _md_trends(trend)
    lines += ["## High-risk users (non-compliant)", ""]
    lines += [f"- Console access without MFA: {', '.join(summary['console_without_mfa']) or 'none'}",
              f"- Active access keys without MFA: {', '.join(summary['active_keys_without_mfa']) or 'none'}", ""]
    lines += ["## Findings by reason (every status)", ""] + [f"- {r} ({breakdown(found)})" for r, found in findings(users)] + [""]
    lines += ["## Root user", ""] + _md_table(ROOT_TABLE, _root_rows(facts)) + [""]
    lines += ["## Users", ""]
    with_account = any(u.get("account_name") for u in users)
    headers = (("Account",) if with_account else ()) + ("User", "Status", "Risk", "MFA", "Console", "Active keys", "Reasons")
    lines += _md_table(headers, [
        ((u.get("account_name"),) if with_account else ()) + (u["username"], u["status"], u["risk"], "yes" if u["mfa_enabled"] else "no",
                                                              "yes" if u["console_access"] else "no", u["active_keys"], ", ".join(u["reasons"]))
        for u in users])
    lines += ["", "## Recommendations", ""] + [f"- {r}" for r in recommendations(facts) or ["None: every user is compliant."]]
    return "\n".join(lines) + "\n"


def _md_trends(trend: Dict) -> List[str]:
    change = trend["compliance_change"]
    return ["## Trends", "", f"Since {trend['previous_generated_at']}: compliance {percent_text(trend['compliance_pct_before'])} → "
            f"{percent_text(trend['compliance_pct_now'])} ({'' if change is None else f'{change:+.1f} points'})", "",
            f"- Newly non-compliant: {', '.join(trend['newly_non_compliant']) or 'none'}",
            f"- Fixed: {', '.join(trend['fixed']) or 'none'}", ""]


# --- HTML ----------------------------------------------------------------------------------------

CSS = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:24px;color:#1f2933;background:#f5f7fa}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px}.meta{color:#52606d;font-size:13px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-top:16px}.card{background:#fff;border-radius:8px;padding:12px 16px;
min-width:120px;box-shadow:0 1px 2px rgba(0,0,0,.1)}.card .n{font-size:26px;font-weight:600}.card .l{font-size:12px;color:#52606d}
.charts{display:flex;flex-wrap:wrap;gap:16px}.panel{background:#fff;border-radius:8px;padding:12px;box-shadow:0 1px 2px rgba(0,0,0,.1)}
table{border-collapse:collapse;background:#fff;font-size:13px;width:100%}th,td{border-bottom:1px solid #e4e7eb;padding:5px 8px;text-align:left}
th{background:#e4e7eb}.compliant{color:#2e7d32}.non-compliant{color:#c62828;font-weight:600}.grace-period{color:#ef6c00}.exempted{color:#607d8b}
.failed{color:#c62828}ul{margin:4px 0}
"""


def _card(value, label: str, colour: str = "#1f2933") -> str:
    return f'<div class="card"><div class="n" style="color:{colour}">{escape(str(value))}</div><div class="l">{escape(label)}</div></div>'


def bar_chart(title: str, bars: Sequence[Tuple[str, Optional[float], str]], unit: str = "", maximum: Optional[float] = None,
              width: int = 460) -> str:
    """Horizontal bars as inline SVG: (label, value, colour) each; a value of None (nothing to measure, as the compliance of
    an account with no users) has no bar and reads n/a, as the tables say."""
    row, label_w = 24, 150
    top = max([v for dummy, v, dummy2 in bars if v is not None] + [maximum or 0, 1])
    height = 30 + row * len(bars)
    parts = [f'<svg width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
             f'<text x="0" y="16" font-size="14" font-weight="600">{escape(title)}</text>']
    for i, (label, value, colour) in enumerate(bars):
        y = 28 + i * row
        length = (width - label_w - 60) * ((value or 0) / top)
        parts.append(f'<text x="0" y="{y + 14}" font-size="12">{escape(label)}</text>')
        if value is not None:
            parts.append(f'<rect x="{label_w}" y="{y + 2}" width="{length:.1f}" height="16" fill="{colour}" rx="2"/>')
        parts.append(f'<text x="{label_w + length + 6:.1f}" y="{y + 14}" font-size="12">{escape("n/a" if value is None else f"{value:g}{unit}")}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(cell for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _td(value, css: str = "") -> str:
    klass = f' class="{css}"' if css else ""
    return f"<td{klass}>{escape(str('' if value is None else value))}</td>"


def render_html(facts: Dict, trend: Optional[Dict] = None) -> str:
    summary, users = facts["summary"], facts["users"]
    counts = summary["counts"]
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', f"<title>{escape(_title(facts))}</title>",
           f"<style>{CSS}</style></head><body>", f"<h1>{escape(_title(facts))}</h1>",
           f'<div class="meta">Generated {escape(str(facts["generated_at"]))} from {escape(str(facts["source"]))}</div>']
    if facts.get("evidence"):
        out.append(f'<div class="meta">{escape(evidence_line(facts["evidence"]))}</div>')
    out += ['<div class="cards">', _card(summary["total"], "Users"),
            _card(percent_text(summary["compliance_pct"]), f"Compliance (target {COMPLIANCE_TARGET}%+)", compliance_colour(summary["compliance_pct"]))]
    out += [_card(counts[s], label, STATUS_COLOURS[s]) for s, label, dummy in STATUS_ROWS]
    out += [_card(len(summary["console_without_mfa"]), "Console without MFA (non-compliant)", BAD),
            _card(len(summary["active_keys_without_mfa"]), "Keys without MFA (non-compliant)", BAD), _root_card(facts), "</div>",
            f'<div class="meta">Compliance colours: {escape(THRESHOLDS)}.</div>']

    out.append('<h2>Charts</h2><div class="charts">')
    out.append('<div class="panel">' + bar_chart("Users by status", [(label, counts[s], STATUS_COLOURS[s]) for s, label, dummy in STATUS_ROWS]) + "</div>")
    out.append('<div class="panel">' + bar_chart("Active access keys by age (days)", [(b, n, "#3f51b5") for b, n in key_age_histogram(users)]) + "</div>")
    accounts = facts.get("accounts") or []
    if accounts:
        bars = [(a["account_name"], a["summary"]["compliance_pct"], compliance_colour(a["summary"]["compliance_pct"])) if a["status"] == "ok"
                else (f"{a['account_name']} (failed)", 0.0, BAD) for a in accounts]
        out.append('<div class="panel">' + bar_chart("Compliance by account", bars, unit="%", maximum=100.0) + "</div>")
    out.append("</div>")

    if accounts:
        out.append("<h2>Accounts</h2>")
        rows = []
        for a in accounts:
            s = a["summary"]
            if s:
                rows.append([_td(a["account_name"]), _td(a["account_id"]), _td("ok"), _td(s["total"]), _td(s["counts"]["compliant"], "compliant"),
                             _td(s["counts"]["non-compliant"], "non-compliant"), _td(s["counts"]["grace-period"]), _td(s["counts"]["exempted"]),
                             _td(percent_text(s["compliance_pct"]))])
            else:
                rows.append([_td(a["account_name"]), _td(a["account_id"]), _td(f"FAILED: {a['error']}", "failed")] + [_td("")] * 6)
        out.append(_table(("Account", "ID", "Status", "Users", "Compliant", "Non-compliant", "Grace period", "Exempted", "Compliance"), rows))

    if trend:
        change = trend["compliance_change"]
        out.append("<h2>Trends</h2><ul>")
        out.append(f"<li>Since {escape(str(trend['previous_generated_at']))}: compliance {escape(percent_text(trend['compliance_pct_before']))} → "
                   f"{escape(percent_text(trend['compliance_pct_now']))}{'' if change is None else escape(f' ({change:+.1f} points)')}</li>")
        out.append(f"<li>Newly non-compliant: {escape(', '.join(trend['newly_non_compliant']) or 'none')}</li>")
        out.append(f"<li>Fixed: {escape(', '.join(trend['fixed']) or 'none')}</li></ul>")

    out.append("<h2>High-risk users (non-compliant)</h2><ul>")
    out.append(f"<li>Console access without MFA: {escape(', '.join(summary['console_without_mfa']) or 'none')}</li>")
    out.append(f"<li>Active access keys without MFA: {escape(', '.join(summary['active_keys_without_mfa']) or 'none')}</li></ul>")
    out.append("<h2>Findings by reason (every status, exempted and grace-period users included)</h2><ul>"
               + "".join(f"<li>{escape(r)} ({escape(breakdown(found))})</li>" for r, found in findings(users)) + "</ul>")
    root_rows = [[_td(name), _td(credentials, "failed" if "root_credentials_present" in found else ""), _td(mfa, "failed" if mfa == "NOT ENABLED" else ""),
                  _td(keys, "failed" if keys == "PRESENT" else ""), _td(used), _td(central), _td(found, "" if found == "none" else "failed")]
                 for name, credentials, mfa, keys, used, central, found in _root_rows(facts)]
    out.append("<h2>Root user</h2>" + _table(ROOT_TABLE, root_rows))

    out.append("<h2>Users</h2>")
    with_account = any(u.get("account_name") for u in users)
    headers = (("Account",) if with_account else ()) + ("User", "Status", "Risk", "MFA", "Console", "Active keys", "Last activity", "Reasons")
    out.append(_table(headers, [
        ([_td(u.get("account_name"))] if with_account else []) + [
            _td(u["username"]), _td(u["status"], u["status"]), _td(u["risk"]), _td("yes" if u["mfa_enabled"] else "no"),
            _td("yes" if u["console_access"] else "no"), _td(u["active_keys"]), _td((u.get("last_activity") or "never")[:10]),
            _td(", ".join(u["reasons"]))]
        for u in users]))
    advice = recommendations(facts) or ["None: every user is compliant."]
    out.append("<h2>Recommendations</h2><ul>" + "".join(f"<li>{escape(r)}</li>" for r in advice) + "</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def render(facts: Dict, output_format: str, previous: Optional[Dict] = None) -> str:
    """The report in ``output_format`` (one of FORMATS); ``previous`` (an earlier JSON report) adds the trends."""
    if output_format not in FORMATS:
        raise ValueError(f"report format must be one of {', '.join(FORMATS)}, not {output_format!r}")
    trend = trends(facts, previous)
    renderers = {"table": render_table, "json": render_json, "csv": render_csv, "markdown": render_markdown, "html": render_html,
                 "ocsf": render_ocsf}
    return renderers[output_format](facts, trend)
