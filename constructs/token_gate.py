"""A readiness gate: the deployment goes on only once a Cognito token endpoint issues client-credentials tokens."""

from __future__ import annotations

from aws_cdk import aws_cognito as cognito

from constructs import Construct
from constructs.custom_resource_handlers import HandlerEndpoint
from constructs.m2m_user_pool import M2MUserPool


class TokenEndpointGate(Construct):
    """Waits until `pool`'s token endpoint answers a client-credentials request of `client` with a token.

    A new Cognito domain takes a while to resolve and to accept the pool's clients, and a gateway target created
    before then fails its first synchronization. Make the target depend on this construct. The handler reads the
    client secret itself (DescribeUserPoolClient), so the secret is in no template, event, response or log; the
    wait is bounded (CustomResourceHandlers' `wait`) and ends, if no token comes, in a failure that names the
    endpoint and its last answer.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handlers: HandlerEndpoint,
        pool: M2MUserPool,
        client: cognito.IUserPoolClient,
    ) -> None:
        super().__init__(scope, construct_id)
        self.resource = handlers.resource(
            self,
            "Resource",
            resource_type="Custom::TokenEndpointGate",
            properties={
                "UserPoolId": pool.user_pool.user_pool_id,
                "ClientId": client.user_pool_client_id,
                # Referencing the domain is what makes the gate wait for it.
                "TokenEndpoint": pool.token_endpoint,
                "Scope": pool.scope_string,
            },
        )
