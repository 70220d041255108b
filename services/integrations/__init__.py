"""Connectors to the systems where the work lives (Gamma, HubSpot, Linear): one module per target.

Every connector speaks its target's real API through its real client (httpx or the vendor's SDK);
none imports Slack. The outbox (services/outbox.py) decides when they run.
"""
