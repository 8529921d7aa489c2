"""How the gateway reaches what a user pool guards: the pool's client for the gateway, the OAuth2 credential provider
built from it, and the gate that waits until the pool's domain issues that client tokens."""

from __future__ import annotations

from aws_cdk import SecretValue
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_cognito as cognito

from constructs import Construct
from constructs.custom_resource_handlers import HandlerEndpoint
from constructs.m2m_user_pool import M2MUserPool
from constructs.naming import name_logical_id
from constructs.token_gate import TokenEndpointGate


class PoolCredentialProvider(Construct):
    """`pool`'s client-credentials client (`client`), a CustomOauth2 credential provider holding it (`provider`), and a
    token gate (`gate`) for whatever must wait until the pool's domain issues the client tokens.

    The three live together, in the construct's stack, because the provider takes the client secret by
    `Fn::GetAtt <client>.ClientSecret` (a read-only attribute in CloudFormation's registry schema), resolved at deploy
    time into the provider's write-only configuration: the template holds only the reference, and since the client is
    made in this stack the secret never crosses a stack boundary (an export's value is readable by whoever may list
    exports). The pool itself may be in another stack. (UserPoolClient.user_pool_client_secret would add an AWS SDK
    custom resource for the same value.) Logical ids: `<label>UserPoolClient`, `<label>OAuthProvider`, `<gate_id>`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pool: M2MUserPool,
        client_name: str,
        provider_name: str,
        handlers: HandlerEndpoint,
        label: str,
        gate_id: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.pool = pool
        self.provider_name = provider_name
        self.client = pool.add_client("Client", client_name, scope=self)
        name_logical_id(self.client, f"{label}UserPoolClient")
        cfn_client = self.client.node.default_child
        assert isinstance(cfn_client, cognito.CfnUserPoolClient)
        self.provider = agentcore.OAuth2CredentialProvider.using_custom(
            self,
            "OAuthProvider",
            o_auth2_credential_provider_name=provider_name,
            discovery_url=pool.discovery_url,
            client_id=self.client.user_pool_client_id,
            client_secret=SecretValue.resource_attribute(cfn_client.attr_client_secret),
        )
        # The pool's discovery document names a token endpoint only once the pool has a domain; whether AgentCore
        # reads it at create time is not documented, so the provider waits for the domain.
        self.provider.node.add_dependency(pool.domain)
        name_logical_id(self.provider, f"{label}OAuthProvider")
        # A gateway target synchronizes its tools as soon as it is created, with a token from the pool's new domain.
        self.gate = TokenEndpointGate(self, "TokenGate", handlers=handlers, pool=pool, client=self.client)
        name_logical_id(self.gate.resource, gate_id)
        # The provider after the gate: a gate that times out then fails the create before the provider exists, so the
        # rollback deletes no freshly made provider (whose fixed name the retry reuses, and whose secret AgentCore may
        # only schedule for deletion). What uses the provider waits for the gate anyway.
        self.provider.node.add_dependency(self.gate)
