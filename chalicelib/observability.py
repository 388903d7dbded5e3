"""Structured logs and metrics (Powertools for AWS Lambda), shared by every module."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="game-backend")
metrics = Metrics(namespace="GameBackend", service="game-backend")
