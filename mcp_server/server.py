"""Example MCP server (the tutorial's order tools): stateless streamable HTTP on 0.0.0.0:8000/mcp, as AgentCore Runtime requires."""

from __future__ import annotations

import os

from mcp.server.mcpserver import MCPServer

mcp = MCPServer(
    name="orders",
    instructions="Tools to read and update customer orders.",
)


@mcp.tool()
def getOrder() -> int:  # noqa: N802 - tool names are the tutorial's contract
    """Get the current order and return its order id."""
    return 123


@mcp.tool()
def updateOrder(orderId: int) -> int:  # noqa: N802,N803 - tool and argument names are the tutorial's contract
    """Update an existing order, identified by its integer order id, and return the updated order's id."""
    return 456


def main() -> None:
    # AgentCore Runtime connects to 0.0.0.0:8000/mcp; a server bound to 127.0.0.1 fails the target's sync.
    mcp.run(
        transport="streamable-http",
        host=os.environ.get("MCP_HOST", "0.0.0.0"),  # noqa: S104 - the container contract
        port=int(os.environ.get("MCP_PORT", "8000")),
        stateless_http=True,
    )


if __name__ == "__main__":
    main()
