"""Operator commands: onboarding a brand (`make onboard`) and recounting the counters
(`make recount`), against the local stack or a deployed stage."""
