"""CloudWatch Transaction Search: an opt-in setting of the whole account and region (-c transactionSearch=true).

Traces delivered to X-Ray become searchable spans (in the aws/spans log group) only once Transaction Search is on. It
is one setting per account and region, not per deployment: turn it on from one deployment only, and not where it is
already on (CloudFormation's create then fails). Destroying this stack turns it off for everyone in the account.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, Stack
from aws_cdk import aws_logs as logs
from aws_cdk import aws_xray as xray

from app_config import AppConfig
from constructs import Construct


class TransactionSearchStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: AppConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # The resource policy AWS documents for Transaction Search ("Using Transaction Search with CloudFormation"):
        # X-Ray may write spans to aws/spans and /aws/application-signals/data, for this account only.
        log_groups = [
            f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:{name}:*"
            for name in ("aws/spans", "/aws/application-signals/data")
        ]
        policy = logs.CfnResourcePolicy(
            self,
            "XRayWritesSpans",
            policy_name="TransactionSearchAccess",
            policy_document=self.to_json_string(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "TransactionSearchXRayAccess",
                            "Effect": "Allow",
                            "Principal": {"Service": "xray.amazonaws.com"},
                            "Action": "logs:PutLogEvents",
                            "Resource": log_groups,
                            "Condition": {
                                "ArnLike": {
                                    "aws:SourceArn": f"arn:{Aws.PARTITION}:xray:{Aws.REGION}:{Aws.ACCOUNT_ID}:*"
                                },
                                "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                            },
                        }
                    ],
                }
            ),
        )
        search = xray.CfnTransactionSearchConfig(
            self, "TransactionSearch", indexing_percentage=config.settings.transaction_search_indexing_percentage
        )
        search.node.add_dependency(policy)
