# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # Options that select and classify users, shared by the modules that read an account.
    DOCUMENTATION = r"""
options:
  source:
    description:
      - Where user data comes from.
      - V(credential_report) generates the IAM credential report and adds a few bulk calls
        (GetAccountAuthorizationDetails, ListVirtualMFADevices, GetAccountSummary), so the number of
        API calls grows with pages, not with users. AWS may serve a report up to 4 hours old; users
        created since are read live, a virtual MFA device assigned since counts (ListVirtualMFADevices is live),
        a user whose MFA the report says is on without a virtual device assigned now is read with ListMFADevices
        (a device removed since is seen), a user compliant only because the report shows no password or active key
        is read live when the report is more than a minute old, and past O(max_report_age) the users the report
        calls C(non-compliant) or C(grace-period) are read live. The result says which source was used, when the
        report was generated, how old it was, and which users it could not vouch for (C(report_unverified_users));
        docs/real-aws.md says what each source knows.
      - V(live) asks IAM about each user (ListUsers, GetLoginProfile, ListMFADevices, ListAccessKeys,
        GetAccessKeyLastUsed, ListUserTags). Exact at this moment, but five or more calls per user.
    type: str
    choices: [credential_report, live]
    default: credential_report
  max_report_age:
    description:
      - With O(source=credential_report), the age in seconds past which the report is not believed for the users
        it calls C(non-compliant) or C(grace-period). Those are read live (five or more calls each), so one who set up
        MFA or gave up a key since is not reported or acted on by mistake. Compliant users are not re-read.
      - V(0) re-reads them whatever the age. The default is the longest AWS serves a report without generating a new one.
    type: int
    default: 14400
  grace_period_days:
    description:
      - A user created fewer than this many days ago, who would otherwise be C(non-compliant),
        is C(grace-period) instead. A user exactly this many days old is no longer in the grace period.
    type: int
    default: 7
  exclude_users:
    description:
      - Shell-style globs (for example V(svc-*)) of user names to exempt. Matching users are
        listed with status C(exempted), unless O(include_users) also matches them.
    type: list
    elements: str
    default: []
  include_users:
    description:
      - Shell-style globs of user names. When set, only the users it matches are considered.
      - A user matched by both O(include_users) and O(exclude_users) is included, not exempted.
      - Live reads of users named outright (no V(*), V(?) or V([)) are by name (C(iam:GetUser)), with their own
        policies read for them. The account's users and authorization details are not listed, which keeps a read
        of one user fast in an account of thousands (the MFA guard's).
    type: list
    elements: str
    default: []
  users:
    description:
      - IAM user names, exactly (no globs). When set, only these users are read and considered; live, each is read by
        name (C(iam:GetUser)) with their own policies, without listing the account's users.
      - Unlike O(include_users), it changes no user's status. O(exclude_users), O(include_users) and O(exempt_tag)
        classify each of them as a run over the whole account would, and one that O(include_users) does not match is
        left out. The MFA guard reads and enforces on the user of one IAM change this way, so that the exemptions of a
        scheduled run hold.
    type: list
    elements: str
    default: []
  exempt_tag:
    description:
      - Users tagged with this key are C(exempted). The tag value is the reason, optionally with
        V(until=YYYY-MM-DD); after that date the tag no longer exempts.
      - An C(until) that is not a date is ignored with a warning, so the user is not exempted.
    type: str
    default: mfa-exempt
  max_key_age_days:
    description:
      - An active access key older than this many days adds the reason C(key_older_than_max_age).
        It does not change the status.
    type: int
    default: 90
  unused_credentials_days:
    description:
      - A console password or active access key not used for more than this many days (counted
        from its creation when never used) adds the reason C(unused_credentials). It does not change the status.
    type: int
    default: 45
  require_hardware_mfa:
    description:
      - When V(true), a user whose only MFA devices are virtual gets the reason C(virtual_mfa_only).
        It does not change the status.
      - With O(source=credential_report), the users with virtual devices are read with iam:ListMFADevices too (one
        call each), since the report does not show a hardware device next to a virtual one.
    type: bool
    default: false
  require_mfa_policy_for_keys:
    description:
      - An MFA device protects the console only; the access keys of a user with MFA sign any request without it, unless a
        policy that applies to the user denies requests made without MFA. Every user with an active key gets
        C(keys_mfa_protected) - V(true) when a policy on the user or one of their groups (inline or managed, the default
        version) has a C(Deny) of everything but single IAM and STS actions (C(NotAction), or C(Action) C(*)), on C(*),
        on the condition C(BoolIfExists) C(aws:MultiFactorAuthPresent) C(false) (or C(Null) C(aws:MultiFactorAuthAge)
        C(true), or C(NumericGreaterThanIfExists) C(aws:MultiFactorAuthAge)), as the C(RequireMFA) policy of
        M(awssec.mfa.iam_mfa_enforce) has; V(false) otherwise; V(null) when such a policy could not be read. A plain
        C(Bool) condition does not count - requests signed with access keys do not carry C(aws:MultiFactorAuthPresent).
      - A user with MFA and unprotected active keys gets the reason C(keys_not_mfa_protected). When V(true), that user is
        also C(non-compliant) (or in its grace period); by default the status does not change.
      - The policies come from the same iam:GetAccountAuthorizationDetails calls that list the users.
    type: bool
    default: false
  require_phishing_resistant_mfa:
    description:
      - When V(true), a user with MFA whose devices are not all security keys (FIDO security keys and passkeys, whose
        serials are ARNs with C(:u2f/)) gets the reason C(not_phishing_resistant) and is C(non-compliant) (or in its grace
        period). A code from an authenticator app or a TOTP token can be phished; a security key answers only the real
        AWS sign-in page.
      - The credential report does not tell a TOTP token from a security key. With O(source=credential_report), the
        users with MFA and no virtual device are read with iam:ListMFADevices, one call each, whatever this option
        says (the device may also have been removed since the report); the number of those reads is returned as
        C(mfa_device_reads).
    type: bool
    default: false
"""

    # How many users are read live at once (awssec.mfa.selection.live_reads).
    LIVE_READS = r"""
options:
  concurrency:
    description:
      - How many users are read live at once - every user with O(source=live); with the credential report, the users
        it does not have yet and those it is too old to judge (O(max_report_age)); in M(awssec.mfa.iam_mfa_enforce),
        each target read again before anything changes. V(1) reads them one by one.
      - Each user's calls retry throttling with jittered backoff; the results are the same as one by one, in the same
        order. IAM serves each account a limited rate of requests, so more than about 16 buys little.
    type: int
    default: 8
"""
