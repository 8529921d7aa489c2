"""A Cognito user pool for machine-to-machine OAuth: resource server, `invoke` scope, client-credentials client, domain."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, SecretValue, Stack, Token
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from aws_rules.names import cognito_domain_problem
from gateway_constructs import name_logical_id
from gateway_constructs.nag import acknowledge

INVOKE_SCOPE = "invoke"


class M2MUserPool(Construct):
    """A user pool with no human users: one confidential app client gets tokens for `<resource server>/invoke`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        user_pool_name: str,
        resource_server_id: str,
        client_name: str,
        domain_prefix: str,
        purpose: str,
        retain_data: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        problem = None if Token.is_unresolved(domain_prefix) else cognito_domain_problem(domain_prefix)
        if problem:
            raise ValueError(f"{self.node.path}: Cognito domain prefix {domain_prefix!r} {problem}")
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            user_pool_name=user_pool_name,
            self_sign_up_enabled=False,
            sign_in_case_sensitive=False,
            password_policy=cognito.PasswordPolicy(
                min_length=16, require_digits=True, require_lowercase=True, require_uppercase=True, require_symbols=True
            ),
            account_recovery=cognito.AccountRecovery.NONE,
            deletion_protection=retain_data,
            removal_policy=RemovalPolicy.RETAIN if retain_data else RemovalPolicy.DESTROY,
        )
        self.invoke_scope = cognito.ResourceServerScope(
            scope_name=INVOKE_SCOPE, scope_description=f"Invoke the {purpose}"
        )
        self.resource_server = self.user_pool.add_resource_server(
            "ResourceServer",
            identifier=resource_server_id,
            user_pool_resource_server_name=resource_server_id,
            scopes=[self.invoke_scope],
        )
        self.client = self.user_pool.add_client(
            "Client",
            user_pool_client_name=client_name,
            generate_secret=True,
            auth_flows=cognito.AuthFlow(),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(client_credentials=True),
                scopes=[cognito.OAuthScope.resource_server(self.resource_server, self.invoke_scope)],
            ),
            access_token_validity=Duration.minutes(60),
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
        )
        if retain_data:
            # The pool alone is not enough: its clients hold every caller's credentials, its resource
            # server the scope they were granted.
            for credentials in (self.client, self.resource_server):
                credentials.apply_removal_policy(RemovalPolicy.RETAIN)
        self.domain = self.user_pool.add_domain(
            "Domain", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=domain_prefix)
        )
        region = Stack.of(self).region
        self.scope_string = f"{resource_server_id}/{INVOKE_SCOPE}"
        self.discovery_url = (
            f"https://cognito-idp.{region}.amazonaws.com/{self.user_pool.user_pool_id}/.well-known/openid-configuration"
        )
        self.token_endpoint = f"{self.domain.base_url()}/oauth2/token"

        acknowledge(
            self.user_pool,
            "AwsSolutions-COG2",
            "Machine-to-machine pool: it has no users, only a client-credentials app client, so MFA has nothing to protect.",
        )
        acknowledge(
            self.user_pool,
            "AwsSolutions-COG3",
            "Threat protection scores user sign-ins; this pool has no users and issues tokens only through client credentials.",
        )
        acknowledge(
            self.user_pool,
            "AwsSolutions-COG8",
            "The Plus feature plan prices user sign-in protection; a pool without users gains nothing from it.",
        )

    def credential_provider(self, construct_id: str, *, provider_name: str) -> agentcore.OAuth2CredentialProvider:
        """An OAuth2 credential provider for this pool's client-credentials client, beside the pool.

        The client secret is `Fn::GetAtt <client>.ClientSecret` (a read-only attribute in CloudFormation's registry
        schema), resolved by CloudFormation at deploy time into the provider's write-only configuration: the
        template holds only the reference, and being in the pool's stack it never crosses a stack boundary as an
        export. (UserPoolClient.user_pool_client_secret would add an AWS SDK custom resource for the same value.)
        """
        client = self.client.node.default_child
        assert isinstance(client, cognito.CfnUserPoolClient)
        provider = agentcore.OAuth2CredentialProvider.using_custom(
            self,
            construct_id,
            o_auth2_credential_provider_name=provider_name,
            discovery_url=self.discovery_url,
            client_id=self.client.user_pool_client_id,
            client_secret=SecretValue.resource_attribute(client.attr_client_secret),
        )
        # The pool's discovery document names a token endpoint only once the pool has a domain; whether AgentCore
        # reads it at create time is not documented, so the provider waits for the domain.
        provider.node.add_dependency(self.domain)
        return provider

    def name_logical_ids(self, label: str) -> None:
        """Logical ids that read as names (`<label>UserPool`, ...) and survive moving this construct."""
        name_logical_id(self.user_pool, f"{label}UserPool")
        name_logical_id(self.client, f"{label}UserPoolClient")
        name_logical_id(self.domain, f"{label}UserPoolDomain")
        name_logical_id(self.resource_server, f"{label}ResourceServer")
