"""Business rules, one module per aggregate. Services flush, never commit."""
