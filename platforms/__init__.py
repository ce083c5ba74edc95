"""Platform packages (DESIGN §1): one folder per platform, found through entry points."""
