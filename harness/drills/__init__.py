"""Liquidation drills: scenarios (drills/*.yaml), the population and price
paths they describe, the drill loop and its drivers, the report and plots."""
