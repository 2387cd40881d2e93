# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action awssec.mfa.iam_change_event: the event the rulebook passed (ansible_eda.event), taken from the play's variables
as it is - never templated - checked field by field, and returned as data. Its documentation is
plugins/modules/iam_change_event.py."""

from ansible.plugins.action import ActionBase

from ansible_collections.awssec.mfa.plugins.module_utils.iam_events import BadMessage, by_account, checked_events


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        if self._task.args:
            return dict(result, failed=True, msg=f"iam_change_event takes no options, not {', '.join(sorted(map(str, self._task.args)))}")
        # The raw variable, not a template of it: a value Ansible templated would already have run what it holds.
        eda = (task_vars or {}).get("ansible_eda")
        if not isinstance(eda, dict) or "event" not in eda:
            return dict(result, failed=True, msg="ansible_eda.event: no event was passed (ansible-rulebook passes it; by hand, -e @event.json "
                                                 "with {\"ansible_eda\": {\"event\": ...}})")
        try:
            events = checked_events(eda["event"])
        except BadMessage as e:
            return dict(result, failed=True, msg=f"ansible_eda.event is not an event of awssec.mfa.iam_changes as AWS can send it: {e}")
        return dict(result, changed=False, event=events[0], events=events, accounts=by_account(events))
