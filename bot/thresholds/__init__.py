"""Statutory and policy thresholds: N to O, penalty notice, LA notifications, CME, tiers."""
