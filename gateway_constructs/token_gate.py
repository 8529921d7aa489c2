"""A readiness gate: the deployment goes on only once a Cognito token endpoint issues client-credentials tokens."""

from __future__ import annotations

from aws_cdk import CustomResource, Duration
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from constructs import Construct

from gateway_constructs.python_handlers import PythonHandlerProvider

DEFAULT_GATE_TIMEOUT = Duration.minutes(10)
GATE_QUERY_INTERVAL = Duration.seconds(10)


class TokenEndpointGate(Construct):
    """Waits until `token_endpoint` answers a client-credentials request of `client` for `scope` with a token.

    A new Cognito domain takes a while to resolve and to accept the pool's clients, and a gateway target created
    before then fails its first synchronization. Make the target depend on this construct. The handler reads the
    client secret itself (DescribeUserPoolClient on this one pool), so the secret is in no template, event,
    response or log. Each poll makes one token request; the wait is bounded by `timeout` and ends, if the
    endpoint never issues a token, in a failure that names the endpoint and its last answer.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        user_pool: cognito.IUserPool,
        client: cognito.IUserPoolClient,
        token_endpoint: str,
        scope_string: str,
        log_retention_days: int,
        retain: bool,
        timeout: Duration = DEFAULT_GATE_TIMEOUT,
    ) -> None:
        super().__init__(scope, construct_id)
        self.handlers = PythonHandlerProvider.shared(
            self,
            "TokenEndpointGateHandlers",
            handler_module="token_gate.handler",
            purpose="wait for a Cognito token endpoint to issue client-credentials tokens",
            wait=timeout,
            on_event_timeout=Duration.seconds(30),
            # One DescribeUserPoolClient and one token request with a 10 s timeout, with room for their retries.
            is_complete_timeout=Duration.minutes(1),
            query_interval=GATE_QUERY_INTERVAL,
            log_retention_days=log_retention_days,
            retain=retain,
        )
        # Only is_complete reads the secret; on_event calls no AWS API and gets no permission beyond its logs.
        self.handlers.grant(
            self.handlers.is_complete_role,
            user_pool.user_pool_arn,
            iam.PolicyStatement(actions=["cognito-idp:DescribeUserPoolClient"], resources=[user_pool.user_pool_arn]),
        )
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=self.handlers.service_token,
            resource_type="Custom::TokenEndpointGate",
            properties={
                "UserPoolId": user_pool.user_pool_id,
                "ClientId": client.user_pool_client_id,
                "TokenEndpoint": token_endpoint,
                "Scope": scope_string,
            },
            service_timeout=self.handlers.service_timeout,
        )
