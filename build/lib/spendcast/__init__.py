"""spendcast: a customer-spending prediction API with its own performance-testing kit."""
