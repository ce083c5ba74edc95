"""AWS: the IMDSv2 client and the EC2 user-data providers (DESIGN §1, §7)."""
