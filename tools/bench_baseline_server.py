"""The tutorial's mcp_server.py, changed only as mcp 2.3's MCPServer API requires: the baseline `tools.bench_mcp` measures against."""

import os

from mcp.server.mcpserver import MCPServer

mcp = MCPServer()


@mcp.tool()
def getOrder() -> int:  # camelCase: the tutorial's code, verbatim
    """Get an order"""
    return 123


@mcp.tool()
def updateOrder(orderId: int) -> int:  # camelCase: the tutorial's code, verbatim
    """Update existing order"""
    return 456


if __name__ == "__main__":
    # FastMCP(host="0.0.0.0", stateless_http=True) + run(transport="streamable-http") in the tutorial; 2.x takes these
    # in run(). Port handling is the example server's, so both listen where the benchmark points them.
    mcp.run(
        transport="streamable-http",
        host=os.environ.get("MCP_HOST", "0.0.0.0"),  # all interfaces, as in the tutorial
        port=int(os.environ.get("MCP_PORT", "8000")),
        stateless_http=True,
    )
