"""Code that runs inside AWS Lambda functions the components deploy (plain Python, boto3 only)."""
