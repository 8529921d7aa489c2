"""Command-line tools around the app: MCP checks, the post-deploy smoke test, benchmarks."""
