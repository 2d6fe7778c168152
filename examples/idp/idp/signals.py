"""The advisory triggers, after the fact: their result never changes the flow."""

from __future__ import annotations

import logging
from typing import Any

from allauth.account.signals import user_signed_up
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from genauth_pipeline_client import PipelineRequestError
from idp.pipeline import pipeline, request_context, user_data

logger = logging.getLogger(__name__)


def _advise(trigger: str, request: Any, user: Any) -> None:
    try:
        pipeline().execute(trigger, user_data(user), request_context(request))
    except PipelineRequestError:
        logger.exception("GenAuth Pipeline refused the %s call", trigger)


@receiver(user_signed_up)
def after_sign_up(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    _advise("POST_REGISTER", request, user)


@receiver(user_logged_in)
def after_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    _advise("POST_AUTHENTICATION", request, user)
