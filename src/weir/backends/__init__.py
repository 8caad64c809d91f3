"""Storage adapters: `sqlite` for one machine, `aws` for DynamoDB, S3 and SNS."""
