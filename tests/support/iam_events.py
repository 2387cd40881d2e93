# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""IAM calls as EventBridge delivers them to SQS: the "AWS API Call via CloudTrail" event around a CloudTrail record,
shaped as AWS documents them (CloudTrail record contents, EventBridge's event structure for CloudTrail API calls)."""

import json
import uuid
from typing import Dict, Optional

ACCOUNT_ID = "123456789012"


def cloudtrail_event(action: str, *, request: Optional[Dict] = None, response: Optional[Dict] = None, caller: str = "admin",
                     error: Optional[str] = None, account_id: str = ACCOUNT_ID, time: str = "2026-12-01T10:00:00Z",
                     partition: str = "aws", region: str = "us-east-1") -> Dict:
    """The EventBridge event for the IAM call ``action`` made by IAM user ``caller``; ``error`` makes it a failed call.
    IAM's events are recorded in one Region of each partition (us-east-1 for aws, cn-north-1, us-gov-west-1)."""
    record = {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": f"arn:{partition}:iam::{account_id}:user/{caller}",
                         "accountId": account_id, "accessKeyId": "AKIAEXAMPLE", "userName": caller},
        "eventTime": time,
        "eventSource": "iam.amazonaws.com",
        "eventName": action,
        "awsRegion": region,
        "sourceIPAddress": "192.0.2.10",
        "userAgent": "aws-cli/2.17.0",
        "requestParameters": request,
        "responseElements": None if error else response,
        "requestID": str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account_id,
        "eventCategory": "Management",
    }
    if error:
        record.update(errorCode=error, errorMessage=f"{error}: refused")
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "AWS API Call via CloudTrail", "source": "aws.iam",
            "account": account_id, "time": time, "region": region, "resources": [], "detail": record}


def message(action: str, **kwargs) -> str:
    """The SQS message body of ``cloudtrail_event(action, **kwargs)``."""
    return json.dumps(cloudtrail_event(action, **kwargs))
