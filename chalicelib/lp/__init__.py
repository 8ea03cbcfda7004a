"""A LivePerson Proactive Messaging 2.0 compatible API on top of this product.

Its own auth (an AppJWT from the Sentinel-style token endpoint, acting with the campaign-manager
role of its brand), its own paths and error shapes; everything it does goes through our services
(campaigns, recipients, messages, analytics counters). See docs/lp-compatible.md.
"""
