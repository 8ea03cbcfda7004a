"""Structured JSON logs (Powertools Logger); phone numbers are masked before they are logged."""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger(service="proactive")


def mask_phone(phone: str) -> str:
    return phone[:-4].rstrip() + "****" if len(phone) > 6 else "****"
