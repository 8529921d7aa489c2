"""Lambda handlers of the app's custom resources, bundled with a pinned boto3 (see gateway_constructs.target_sync)."""
