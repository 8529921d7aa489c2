"""Custom resource that waits until a Cognito token endpoint issues client-credentials tokens."""
