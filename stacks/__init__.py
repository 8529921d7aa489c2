"""The app's stacks, one module each, and the one place where they are wired together."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import App, Duration, Environment, Fn, Stack, Tags

from app_config import AppConfig
from app_config.rules import agent_client_output
from constructs.hosted_server import RuntimeSettings
from constructs.mcp_entry import SharedResources
from stacks.agents_stack import AgentsStack
from stacks.cognito_stack import CognitoStack
from stacks.credential_provider_stack import CredentialProviderStack
from stacks.gateway_role_stack import GatewayRoleStack
from stacks.gateway_stack import GatewayStack
from stacks.mcp_targets_stack import McpTargetsStack
from stacks.monitoring_stack import MonitoringStack
from stacks.transaction_search_stack import TransactionSearchStack


@dataclass(frozen=True)
class GatewayApp:
    cognito: CognitoStack
    gateway_role: GatewayRoleStack
    gateway: GatewayStack
    # The gateway's client of the runtime pool and the credential provider holding it (hosted entries use both).
    credential_provider: CredentialProviderStack
    # One stack per shard: entries land by a hash of their name (app_config.shard_of), so adding one changes its
    # own stack and no other.
    mcp_targets: tuple[McpTargetsStack, ...]
    # After every shard: the agents' policies name the targets' tools.
    agents: AgentsStack
    monitoring: MonitoringStack
    # Only with -c transactionSearch=true: an account-wide setting, not a deployment's.
    transaction_search: TransactionSearchStack | None = None

    @property
    def stacks(self) -> tuple[Stack, ...]:
        optional = (self.transaction_search,) if self.transaction_search else ()
        return (
            self.cognito,
            self.gateway_role,
            self.gateway,
            self.credential_provider,
            *self.mcp_targets,
            self.agents,
            self.monitoring,
            *optional,
        )


def build(app: App, config: AppConfig) -> GatewayApp:
    names = config.names
    common = dict(
        env=Environment(account=config.account, region=config.region),
        termination_protection=config.retain_data,
        # The stacks' own tags, which CloudFormation gives to what they create (what a template cannot tag
        # included): set on each stack, as @aws-cdk/core:explicitStackTags asks (Tags.of() tags resources only).
        tags=dict(config.tags),
    )
    cognito = CognitoStack(app, "Cognito", stack_name=names.stack("cognito"), config=config, **common)
    role = GatewayRoleStack(app, "GatewayRole", stack_name=names.stack("gateway-role"), config=config, **common)
    # The agents' client ids, read from the cognito stack's outputs with Fn::GetStackOutput (a weak reference):
    # with exports, removing an agent could not deploy (the cognito stack deletes the client, and its export,
    # before the consumers let go of it). One output per agent, which the smoke and the agents read too. A retired
    # agent keeps its client and output, but no stack reads it any more: the entry's removal, a deploy later, then
    # deletes an output no deployed template (so no rollback) refers to.
    client_ids = {
        agent.name: Fn.get_stack_output(cognito.stack_name, agent_client_output(agent.name))
        for agent in config.agents.active
    }
    gateway = GatewayStack(
        app,
        "Gateway",
        stack_name=names.stack("gateway"),
        config=config,
        role=role.role,
        inbound_pool=cognito.gateway_pool,
        agent_client_ids=[client_ids[agent.name] for agent in config.agents.active],
        handlers=cognito.handlers.endpoint,
        **common,
    )
    # A weak reference orders nothing: the outputs must exist before the gateway reads them.
    gateway.add_stack_dependency(cognito)
    provider = CredentialProviderStack(
        app,
        "CredentialProvider",
        stack_name=names.stack("credential-provider"),
        config=config,
        runtime_pool=cognito.runtime_pool,
        handlers=cognito.handlers.endpoint,
        **common,
    )
    settings = config.settings
    shared = SharedResources(
        gateway=gateway.gateway,
        names=names,
        account=config.account,
        runtime_access=provider.runtime_access,
        handlers=cognito.handlers.endpoint,
        trace_destination_arn=gateway.traces.destination_arn,
        runtime=RuntimeSettings(
            session_timeout=Duration.seconds(settings.gateway_session_timeout_seconds),
            idle_timeout=Duration.seconds(settings.runtime_idle_timeout_seconds),
            platform_version=settings.runtime_platform_version,
        ),
        log_retention_days=config.log_retention_days,
        retain_data=config.retain_data,
        tags=config.tags,
        tool_locks=config.tool_locks,
    )
    targets = tuple(
        McpTargetsStack(
            app,
            f"McpTargets{shard}",
            stack_name=names.stack(f"mcp-targets-{shard}"),
            config=config,
            shard=shard,
            shared=shared,
            **common,
        )
        for shard in range(config.shards)
    )
    for shard in targets:
        # Whatever a shard holds, it deploys after the runtime pool's token gate: a hosted entry's target synchronizes
        # its tools with that pool's token as soon as it is created.
        shard.add_stack_dependency(provider)
    # Exported whether or not an entry uses them today: CDK adds an export with its first consumer and drops it
    # with its last, and dropping it would fail (the producer deploys before the consumer lets go), so removing
    # the last entry of a kind could not deploy. Kept exports make the shared stacks independent of the entries.
    kept_exports: tuple[tuple[Stack, tuple[str, ...]], ...] = (
        (
            cognito,
            (
                cognito.runtime_pool.user_pool.user_pool_id,
                cognito.handlers.endpoint.service_token,
            ),
        ),
        (
            provider,
            (
                provider.runtime_access.client.user_pool_client_id,
                provider.runtime_access.provider.credential_provider_arn,
            ),
        ),
        (
            gateway,
            (
                gateway.gateway.gateway_id,
                gateway.gateway.gateway_arn,
                gateway.traces.destination_arn,
                gateway.access.engine.policy_engine_id,
            ),
        ),
    )
    for stack, values in kept_exports:
        for value in values:
            stack.export_value(value)
    # Every resource of every stack carries the deployment's tags (tests/test_lifecycle.py checks each taggable one).
    for key, value in config.tags.items():
        Tags.of(app).add(key, value)
    agents = AgentsStack(
        app,
        "Agents",
        stack_name=names.stack("agents"),
        config=config,
        gateway=gateway.gateway,
        engine=gateway.access.engine,
        client_ids=client_ids,
        **common,
    )
    for shard in targets:
        # Deploy order only (no reference: a shard's exports would tie its entries' removal to this stack).
        agents.add_stack_dependency(shard)
    monitoring = MonitoringStack(
        app,
        "Monitoring",
        stack_name=names.stack("monitoring"),
        config=config,
        gateway=gateway.gateway,
        gateway_log_group=names.gateway_log_group,
        **common,
    )
    search = None
    if settings.transaction_search:
        # One stack per account and region whichever environment deploys it: termination protection always on (so
        # `cdk destroy --all` of a dev environment cannot turn tracing search off for everyone), not the env's.
        search = TransactionSearchStack(
            app,
            "TransactionSearch",
            stack_name=names.transaction_search_stack(),
            config=config,
            env=common["env"],
            tags=common["tags"],
            termination_protection=True,
        )
    return GatewayApp(cognito, role, gateway, provider, targets, agents, monitoring, search)
