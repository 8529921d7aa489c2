"""The app's custom-resource handlers: one Lambda function behind CDK's provider framework, dispatching on the
resource type. Only the Lambda runtime's own boto3 is used (no bundled dependencies)."""
