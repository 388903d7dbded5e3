"""Developer commands: provisioning, CloudFormation and IAM generation."""
